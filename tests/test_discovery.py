"""From a log to a process: filtering, the process's shape and numbers, properties, the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.interchange import discover_cli
from workflow.interchange.discovery import discover
from workflow.interchange.discovery_filter import keep_main_variants
from workflow.interchange.eventlog import EventLog, EventLogError
from workflow.interchange.eventlog_csv import read_csv_log
from workflow.interchange.to_process import facts_to_model
from workflow.validate import check_process
from workflow.vocabulary import StepKind
from workflow.yaml_format import loads_model

DATA = Path(__file__).parent / "data" / "eventlogs"
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def make_log(cases: list[list[str]], *, start: bool = False, lanes: bool = True) -> EventLog:
    """Cases as activity lists; each event one hour after the previous, work of 10 minutes."""
    rows = []
    for number, activities in enumerate(cases):
        for position, activity in enumerate(activities):
            at = T0 + dt.timedelta(days=number, hours=position)
            row = {"case": f"c{number}", "activity": activity, "time": at}
            if start:
                row["start"] = at - dt.timedelta(minutes=10)
            if lanes:
                row["role"] = f"team-{activity}"
            rows.append(row)
    frame = pl.DataFrame(rows).with_columns(pl.col("time").dt.cast_time_unit("us"))
    if start:
        frame = frame.with_columns(pl.col("start").dt.cast_time_unit("us"))
    return EventLog.from_events(frame, "test.csv", {})


def model_of(log: EventLog, keep: float = 1.0):
    whole = discover(log)
    kept = keep_main_variants(log, keep)
    return facts_to_model(
        discover(kept.log), whole, name="test", summary="s", has_start_times=log.has_start
    ).processes[0]


def test_keep_takes_the_most_frequent_variants_covering_the_share():
    log = make_log([["a", "b"]] * 6 + [["a", "c"]] * 3 + [["a", "d"]])
    kept = keep_main_variants(log, 0.8)
    assert (kept.variants, kept.variants_kept, kept.cases_kept) == (3, 2, 9)
    assert set(discover(kept.log).activities) == {"a", "b", "c"}


def test_keep_always_keeps_the_most_frequent_variant():
    kept = keep_main_variants(make_log([["a"]] * 2 + [["b"]]), 0.01)
    assert kept.variants_kept == 1 and kept.cases_kept == 2


def test_keep_outside_zero_to_one_is_refused():
    with pytest.raises(EventLogError, match="--keep"):
        keep_main_variants(make_log([["a"]]), 1.5)


def test_a_choice_becomes_a_decision_with_probabilities_from_the_counts():
    process = model_of(make_log([["a", "b"]] * 3 + [["a", "c"]]))
    decision = next(s for s in process.steps() if s.kind is StepKind.DECISION)
    assert decision.name == "After a"
    shares = {t: process.flow(decision.id, t).probability for t in process.graph.succ[decision.id]}
    assert shares == {"b": 0.75, "c": 0.25}
    assert check_process(process) == []


def test_a_repeated_activity_is_rework_and_never_a_self_loop():
    process = model_of(make_log([["a", "b", "b", "c"], ["a", "b", "a", "b", "c"]]))
    rework = {(s, t) for s, t, f in process.flows() if f.rework}
    assert ("after-b", "b") in rework and ("after-b", "a") in rework
    assert not any(s == t for s, t, _ in process.flows())


def test_lanes_touch_and_wait_come_from_the_log():
    process = model_of(make_log([["a", "b"]] * 2, start=True))
    b = process.step("b")
    assert b.lane == "team-b"
    assert process.lane("team-b").name == "team-b"
    assert b.touch_minutes == 10
    assert b.wait_minutes == 50  # a completes, b starts 50 minutes later


def test_without_start_times_touch_is_zero_and_wait_is_the_median_gap():
    b = model_of(make_log([["a", "b"]] * 2)).step("b")
    assert (b.touch_minutes, b.wait_minutes) == (0, 60)


def test_yearly_volume_is_cases_over_the_span_of_the_log():
    process = model_of(make_log([["a", "b"]] * 11))  # 11 cases over 10 days and 1 hour
    span_days = 10 + 1 / 24
    assert process.volume == pytest.approx(11 * 365.2425 / span_days, rel=1e-3)


def test_activity_names_become_valid_unique_ids():
    process = model_of(make_log([["Start!", "start", "Ünïcode ok", "end"]]))
    ids = {s.id for s in process.steps() if s.kind is StepKind.TASK}
    assert ids == {"start-2", "start-3", "unicode-ok", "end-2"}
    assert check_process(process) == []


def test_the_receipt_log_gives_a_valid_readable_process():
    log = read_csv_log(DATA / "receipt.csv")
    process = model_of(log, keep=0.8)
    assert check_process(process) == []
    assert len(process) < 20
    assert {lane.name for lane in process.lanes} <= set(log.frame["role"].unique().to_list())


activity = st.sampled_from(["a", "b", "c", "d", "e"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(activity, min_size=1, max_size=8), min_size=1, max_size=12),
    st.floats(0.05, 1.0),
    st.booleans(),
)
def test_properties_of_any_log(cases, keep, start):
    log = make_log(cases, start=start)
    facts = discover(log)
    assert sum(facts.dfg.values()) == facts.events - facts.cases
    assert sum(facts.activities.values()) == facts.events
    assert sum(facts.start_activities.values()) == facts.cases
    kept = keep_main_variants(log, 1.0)
    assert kept.cases == facts.cases and kept.variants == facts.variants
    assert kept.variants == len({tuple(c) for c in cases})
    process = model_of(log, keep)
    assert check_process(process) == []
    for node in process.graph:
        out = [f.probability for _, _, f in process.graph.out_edges(node, data="flow")]
        if len(out) > 1:
            assert sum(out) == pytest.approx(1, abs=1e-9)
            assert all(p > 0 for p in out)


# --- the command -------------------------------------------------------------------------------
def run(argv: list[str]) -> int:
    return discover_cli.main(argv)


def test_discover_json_prints_the_reference_shapes(capsys):
    assert run([str(DATA / "running-example.xes"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = json.loads((DATA / "running-example.xes.expected.json").read_text("utf-8"))
    assert set(printed) == set(expected)
    assert {k: v for k, v in printed.items() if k != "tool"} == {
        k: v for k, v in expected.items() if k != "tool"
    }


def test_discover_writes_a_model_that_loads(tmp_path, capsys):
    out = tmp_path / "out.yaml"
    assert run(["discover", str(DATA / "receipt.csv"), "--keep", "0.9", "-o", str(out)]) == 0
    assert "Wrote" in capsys.readouterr().out
    model = loads_model(out.read_text("utf-8"))
    assert model.processes[0].volume > 0
    assert "--keep 0.9" in model.processes[0].description


def test_discover_errors_are_one_line_with_status_2(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("case,activity,timestamp\n1,a,never\n", encoding="utf-8")
    assert run([str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("leanlane: error: ") and "row 1" in err and err.count("\n") == 1


def test_discover_without_output_or_json_says_what_it_needs(capsys):
    assert run([str(DATA / "receipt.csv")]) == 2
    assert "-o OUT.yaml, --json" in capsys.readouterr().err


def test_discover_names_columns_explicitly(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_text("who,what,when\nx,a,2024-01-01\nx,b,2024-01-02\n", encoding="utf-8")
    argv = [str(path), "--case", "who", "--activity", "what", "--timestamp", "when", "--json"]
    assert run(argv) == 0
    assert json.loads(capsys.readouterr().out)["dfg"] == [["a", "b", 1]]


def test_discover_add_commands_plugs_into_a_parser():
    import argparse

    parser = argparse.ArgumentParser(prog="leanlane")
    discover_cli.add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["discover", "log.csv", "--keep", "0.5", "--json"])
    assert (args.command, args.keep, args.json) == ("discover", 0.5, True)
