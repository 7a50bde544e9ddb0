"""The ``leanlane`` command: analyze, validate and propose, called in-process with capsys.

One test runs the installed console script to prove the entry point works.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from workflow.analysis import analyze
from workflow.cli import main
from workflow.yaml_format import load_model

MODELS = Path(__file__).parent.parent / "process_models"
AS_OF = "2026-11-23"
AS_OF_DATE = dt.date(2026, 11, 23)
PREFIX = "leanlane: error: "

TINY = """\
leanlane: 1
name: Tiny
processes:
  - id: p
    name: Proc
    cases_per_year: 1000
    lanes:
      - {id: clerk, cost_per_hour: 40}
    steps:
      - {id: s, name: Start, kind: start, lane: clerk}
      - {id: work, name: Work, lane: clerk, touch_minutes: 10, wait_minutes: 60, value_class: VA}
      - {id: e, name: End, kind: end, lane: clerk}
    flows:
      - s -> work
      - work -> e
"""

# A rework loop where two proposals change the same decision step: fix_input_at_source
# targets 'complete', and move_check_earlier targets ('assess', 'complete').
REWORK = """\
leanlane: 1
name: Rework loop
processes:
  - id: intake
    name: Intake
    cases_per_year: 5000
    lanes:
      - {id: clerk, name: Clerk, cost_per_hour: 40}
      - {id: customer, name: Customer, kind: customer}
    steps:
      - {id: start, name: Request arrives, kind: start, lane: clerk}
      - {id: receive, name: Receive request, lane: clerk, touch_minutes: 5, wait_minutes: 60,
         value_class: BVA}
      - {id: assess, name: Assess request, lane: clerk, touch_minutes: 30, wait_minutes: 240,
         value_class: VA}
      - {id: complete, name: "Request complete?", kind: decision, lane: clerk, touch_minutes: 2}
      - {id: ask, name: Ask customer for missing papers, lane: customer, touch_minutes: 10,
         wait_minutes: 1440, value_class: NVA}
      - {id: log, name: Copy request into spreadsheet, lane: clerk, touch_minutes: 6,
         wait_minutes: 30, value_class: NVA}
      - {id: end, name: Done, kind: end, lane: clerk}
    flows:
      - start -> receive
      - receive -> assess
      - assess -> complete
      - {from: complete, to: ask, probability: 0.4, rework: true}
      - {from: complete, to: log, probability: 0.6}
      - {from: ask, to: receive, rework: true}
      - log -> end
"""

HUGE = "1" + "0" * 400  # a whole number far beyond what a float can hold


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lead_minutes(path: Path) -> dict[str, float]:
    analysis = analyze(load_model(path), as_of=AS_OF_DATE, simulation_runs=0)
    return {item.process.id: item.metrics.lead_minutes for item in analysis.processes}


def step_ids(path: Path, process_id: str) -> set[str]:
    return {step.id for step in load_model(path).process(process_id).steps()}


def assert_clean_error(code: int, out: str, err: str, fragments: tuple[str, ...]) -> None:
    assert "Traceback" not in err
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert lines, "expected at least one error line on stderr"
    for line in lines:
        assert line.startswith(PREFIX), f"stderr line without the error prefix: {line!r}"
    for fragment in fragments:
        assert fragment in err


# --- analyze: text -------------------------------------------------------------------------------
def test_analyze_prints_metrics_top_steps_with_reasons_and_ranked_proposals_for_a_shipped_model(
    capsys,
):
    path = MODELS / "online_order_return.yaml"
    expected = analyze(load_model(path), as_of=AS_OF_DATE, simulation_runs=0)

    code, out, err = run(
        capsys,
        "analyze",
        path,
        "--as-of",
        AS_OF,
        "--runs",
        "200",
        "--top",
        "3",
        "--proposals",
        "4",
    )

    assert code == 0
    assert err == ""
    assert out.startswith("Online order return - analysis as of 2026-11-23\n")
    for item in expected.processes:
        assert f"== {item.process.name} ({item.process.id}, " in out
    for label in ("Lead time", "Touch time", "PCE", "Flow efficiency", "Handoffs", "Rolled %C&A"):
        assert out.count(f"   {label}") == len(expected.processes)
    assert out.count("simulated 200 cases: p50 ") == len(expected.processes)
    assert out.count("Top 3 steps by priority:") == len(expected.processes)
    for item in expected.processes:
        top = item.hotspots(3)
        for n, score in enumerate(top, start=1):
            assert f"{n:>2}. {score.name} [{score.step}]  priority " in out
        assert f"[{item.hotspots(4)[3].step}]  priority" not in out
    assert "       - staff and customers both flag it" in out
    total = len(expected.proposals)
    assert f"== Proposals, best first (4 of {total})" in out
    shown_ids = [line.split("id: ", 1)[1] for line in out.splitlines() if "     id: " in line]
    assert shown_ids == [p.id for p in expected.proposals[:4]]
    assert out.count("     Why: ") == 4
    assert out.count("     Saves: ") == 4
    assert "Apply with: leanlane propose" in out


def test_analyze_shows_every_proposal_when_asked_for_zero(capsys):
    path = MODELS / "it_access_request.yaml"
    total = len(analyze(load_model(path), as_of=AS_OF_DATE, simulation_runs=0).proposals)

    code, out, _ = run(capsys, "analyze", path, "--as-of", AS_OF, "--runs", "0", "--proposals", "0")

    assert code == 0
    assert f"== Proposals, best first ({total} of {total})" in out
    assert out.count("     id: ") == total
    assert "simulated" not in out


def test_analyze_says_so_when_no_rule_finds_anything(capsys, tmp_path):
    code, out, _ = run(capsys, "analyze", write(tmp_path, "tiny.yaml", TINY), "--runs", "0")

    assert code == 0
    assert "== No proposals: no rule found anything to simplify." in out


# --- analyze: JSON -------------------------------------------------------------------------------
def analyze_json(capsys, path: Path, *extra: str) -> dict:
    code, out, err = run(capsys, "analyze", path, "--json", "--as-of", AS_OF, *extra)
    assert code == 0
    assert err == ""
    return json.loads(out)


METRIC_KEYS = {
    "lead_minutes",
    "touch_minutes",
    "pce",
    "flow_efficiency",
    "handoffs",
    "customer_touchpoints",
    "rolled_pct_complete_accurate",
    "rework_passes",
    "annual_hours",
    "annual_cost",
    "cases_per_year",
    "step_count",
}
STEP_KEYS = {"id", "priority", "effort", "value", "pain", "reasons", "agreement"}
PROPOSAL_KEYS = {
    "id",
    "rank",
    "rule",
    "category",
    "process",
    "targets",
    "title",
    "rationale",
    "evidence",
    "risks",
    "lanes_affected",
    "savings",
    "before",
    "after",
}


def test_analyze_json_has_the_documented_keys_for_a_shipped_model(capsys):
    path = MODELS / "bank_account_opening.yaml"
    model = load_model(path)

    data = analyze_json(capsys, path, "--runs", "300")

    assert data["model"] == model.name
    assert data["as_of"] == AS_OF
    assert [p["id"] for p in data["processes"]] == [p.id for p in model.processes]
    for process in data["processes"]:
        source = model.process(process["id"])
        assert process["name"] == source.name
        assert process["perspective"] in ("customer_journey", "employee_process")
        assert set(process["metrics"]) >= METRIC_KEYS
        assert process["metrics"]["lead_minutes"] > 0
        assert 0 <= process["metrics"]["pce"] <= process["metrics"]["flow_efficiency"] <= 1
        simulation = process["simulation"]
        assert simulation["runs"] == 300
        assert 0 < simulation["p50_lead_minutes"] <= simulation["p90_lead_minutes"]
        assert process["steps"], "every shipped process has working steps to score"
        priorities = [s["priority"]["value"] for s in process["steps"]]
        assert priorities == sorted(priorities, reverse=True)
        for step in process["steps"]:
            assert set(step) >= STEP_KEYS
            assert step["id"] in source
            assert isinstance(step["agreement"], bool)
            assert all(isinstance(r, str) and r for r in step["reasons"])
            for score in ("priority", "effort", "value", "pain"):
                assert set(step[score]) == {"value", "parts"}
            parts = step["priority"]["parts"]
            assert [p["label"] for p in parts] == ["effort", "pain", "low value"]
            assert sum(p["points"] for p in parts) == pytest.approx(
                step["priority"]["value"], abs=0.03
            )
    proposals = data["proposals"]
    assert proposals
    assert [p["rank"] for p in proposals] == list(range(1, len(proposals) + 1))
    assert len({p["id"] for p in proposals}) == len(proposals)
    for proposal in proposals:
        assert set(proposal) >= PROPOSAL_KEYS
        assert proposal["category"] in ("Eliminate", "Combine", "Rearrange", "Simplify")
        assert proposal["targets"]
        assert all(t in model.process(proposal["process"]) for t in proposal["targets"])
        assert proposal["rationale"] and proposal["evidence"]
        savings = proposal["savings"]
        assert set(savings) == {"hours_per_year", "cost_per_year", "lead_minutes", "handoffs"}
        before, after = proposal["before"], proposal["after"]
        assert savings["lead_minutes"] == pytest.approx(
            before["lead_minutes"] - after["lead_minutes"]
        )
        assert savings["hours_per_year"] == pytest.approx(
            before["annual_hours"] - after["annual_hours"]
        )
        assert savings["handoffs"] == pytest.approx(before["handoffs"] - after["handoffs"])


def test_analyze_json_with_zero_runs_has_no_simulation(capsys):
    data = analyze_json(capsys, MODELS / "insurance_claim.yaml", "--runs", "0")

    assert data["processes"]
    assert all(p["simulation"] is None for p in data["processes"])


def test_analyze_json_is_identical_for_the_same_seed(capsys):
    path = MODELS / "new_hire_onboarding.yaml"

    first = run(capsys, "analyze", path, "--json", "--as-of", AS_OF, "--runs", "300", "--seed", "7")
    second = run(
        capsys, "analyze", path, "--json", "--as-of", AS_OF, "--runs", "300", "--seed", "7"
    )

    assert first[0] == second[0] == 0
    assert first[1] == second[1]
    assert all(p["simulation"]["seed"] == 7 for p in json.loads(first[1])["processes"])


def test_analyze_json_ages_flags_against_the_as_of_date(capsys):
    path = MODELS / "online_order_return.yaml"

    soon = analyze_json(capsys, path, "--runs", "0")
    code, out, _ = run(capsys, "analyze", path, "--json", "--as-of", "2031-01-01", "--runs", "0")
    late = json.loads(out)

    assert code == 0
    assert late["as_of"] == "2031-01-01"

    def pain(data: dict) -> float:
        return sum(s["pain"]["value"] for p in data["processes"] for s in p["steps"])

    assert pain(late) < pain(soon)


# --- validate ------------------------------------------------------------------------------------
def test_validate_accepts_a_shipped_model_and_counts_its_processes_and_steps(capsys):
    path = MODELS / "expense_reimbursement.yaml"
    model = load_model(path)
    steps = sum(len(p) for p in model.processes)

    code, out, err = run(capsys, "validate", path)

    assert code == 0
    assert err == ""
    assert out == f"{path}: valid ({len(model.processes)} processes, {steps} steps)\n"


def test_validate_shows_at_most_twenty_problems_and_counts_the_rest(capsys, tmp_path):
    bad_steps = "".join(
        f"      - {{id: w{i}, name: W{i}, lane: clerk, tuch_minutes: 1}}\n" for i in range(25)
    )
    text = TINY.replace("      - {id: e,", bad_steps + "      - {id: e,")
    path = write(tmp_path, "many.yaml", text)

    code, _, err = run(capsys, "validate", path)

    lines = err.splitlines()
    assert code == 2
    assert len(lines) == 21
    assert all(line.startswith(PREFIX + str(path)) for line in lines[:20])
    assert lines[20] == "leanlane: ... and 5 more"


# --- bad inputs ----------------------------------------------------------------------------------
def _two_starts(text: str) -> str:
    return text.replace(
        "      - {id: e,",
        "      - {id: s2, name: Start 2, kind: start, lane: clerk}\n      - {id: e,",
    ).replace("    flows:\n", "    flows:\n      - s2 -> work\n")


def _unreachable(text: str) -> str:
    # x and y feed each other, so both have a way in, but nothing from the start reaches them.
    steps = (
        "      - {id: x, name: X, lane: clerk, touch_minutes: 1}\n"
        "      - {id: y, name: Y, lane: clerk, touch_minutes: 1}\n"
    )
    flows = (
        "      - x -> y\n"
        "      - {from: y, to: x, probability: 0.5}\n"
        "      - {from: y, to: e, probability: 0.5}\n"
    )
    return text.replace("      - {id: e,", steps + "      - {id: e,").replace(
        "    flows:\n", "    flows:\n" + flows
    )


def _probabilities(text: str) -> str:
    return text.replace(
        "      - {id: e,", "      - {id: extra, name: Extra, lane: clerk}\n      - {id: e,"
    ).replace(
        "      - work -> e\n",
        "      - {from: work, to: e, probability: 0.5}\n"
        "      - {from: work, to: extra, probability: 0.3}\n"
        "      - extra -> e\n",
    )


BILLION_LAUGHS = """\
leanlane: 1
name: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
description: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
processes: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
"""

# (file content, text the error must contain); None content means "do not create the file".
BAD_FILES = {
    "missing_file": (None, ("file not found",)),
    "invalid_yaml_syntax": (
        TINY.replace("name: Proc", "name: [Proc"),
        ("line 6", "not valid YAML"),
    ),
    "misspelled_field": (
        TINY.replace("touch_minutes: 10", "tuch_minutes: 10"),
        ("line 11", "processes[p].steps[work].tuch_minutes", "did you mean 'touch_minutes'?"),
    ),
    "negative_touch_minutes": (
        TINY.replace("touch_minutes: 10", "touch_minutes: -10"),
        ("line 11", "touch_minutes: must be at least 0 (got -10)"),
    ),
    "probabilities_not_adding_up": (_probabilities(TINY), ("add up to 0.8, not 1",)),
    "flow_to_an_unknown_step": (
        TINY.replace("work -> e", "wokr -> e"),
        ("line 15", "flows[wokr -> e].from: no step has id 'wokr'", "did you mean 'work'?"),
    ),
    "two_start_steps": (_two_starts(TINY), ("exactly one step of kind 'start' (found 2: s, s2)",)),
    "unreachable_step": (_unreachable(TINY), ("steps[x]: cannot be reached from the start",)),
    "python_tag_on_a_list": (
        TINY.replace("name: Tiny", "name: !!python/object/apply:os.system ['echo pwned']"),
        ("unsupported tag",),
    ),
    "python_tag_on_a_mapping": (
        TINY.replace("name: Tiny", "name: !!python/object/new:os.system {}"),
        ("unsupported tag",),
    ),
    "python_tag_on_a_scalar": (
        TINY.replace("name: Tiny", "name: !!python/object/apply:os.system echo"),
        ("line 2", "python/object/apply:os.system"),
    ),
    "anchors_and_aliases": (BILLION_LAUGHS, ("anchors and aliases",)),
    "empty_file": ("", ("the file is empty",)),
    "only_a_comment": ("# nothing here\n", ("the file is empty",)),
    "format_version_true": (TINY.replace("leanlane: 1", "leanlane: true"), ("format version",)),
    "bool_tag_on_a_word": (
        TINY.replace("name: Tiny", "name: Tiny\ndescription: !!bool maybe"),
        ("line 3",),
    ),
    "timestamp_tag_on_a_word": (
        TINY.replace("name: Tiny", "name: Tiny\ndescription: !!timestamp soon"),
        ("line 3",),
    ),
    "huge_touch_minutes": (
        TINY.replace("touch_minutes: 10", f"touch_minutes: {HUGE}"),
        ("line 11", "touch_minutes"),
    ),
    "huge_customer_value": (
        TINY.replace("value_class: VA}", f"value_class: VA, customer_value: {HUGE}}}"),
        ("customer_value",),
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_analyze_reports_a_bad_file_on_prefixed_lines_naming_the_file_with_exit_code_2(
    capsys, tmp_path, case
):
    text, fragments = BAD_FILES[case]
    path = tmp_path / f"{case}.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")

    code, out, err = run(capsys, "analyze", path)

    assert_clean_error(code, out, err, fragments)
    assert all(str(path) in line for line in err.splitlines())


def test_a_python_tag_never_runs_code(capsys, tmp_path):
    marker = tmp_path / "pwned"
    text = TINY.replace("name: Tiny", f"name: !!python/object/apply:os.system ['touch {marker}']")
    path = write(tmp_path, "evil.yaml", text)

    code, _, err = run(capsys, "analyze", path)

    assert code == 2
    assert PREFIX in err
    assert not marker.exists()


def test_validate_reports_a_misspelled_field_with_its_line_and_exit_code_2(capsys, tmp_path):
    path = write(tmp_path, "typo.yaml", TINY.replace("touch_minutes: 10", "tuch_minutes: 10"))

    code, out, err = run(capsys, "validate", path)

    assert_clean_error(
        code,
        out,
        err,
        (
            f"{PREFIX}{path}: line 11: processes[p].steps[work].tuch_minutes: unknown field "
            "(did you mean 'touch_minutes'?)",
        ),
    )


def test_a_directory_instead_of_a_file_exits_2(capsys, tmp_path):
    code, out, err = run(capsys, "analyze", tmp_path)

    assert_clean_error(code, out, err, (str(tmp_path), "is a directory, not a file"))


def test_a_file_that_is_not_utf8_exits_2(capsys, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(TINY.replace("name: Tiny", "name: Caf\xe9").encode("latin-1"))

    code, out, err = run(capsys, "validate", path)

    assert_clean_error(code, out, err, (str(path), "is not UTF-8 text"))


LOOP = TINY.replace(
    "      - {id: e,", "      - {id: ok, name: OK?, kind: decision, lane: clerk}\n      - {id: e,"
).replace(
    "      - work -> e\n",
    "      - work -> ok\n"
    "      - {from: ok, to: work, probability: 0.9999999, rework: true}\n"
    "      - {from: ok, to: e, probability: 0.0000001}\n",
)


def test_analyze_of_a_valid_loop_that_almost_never_exits_ends_without_a_crash(capsys, tmp_path):
    path = write(tmp_path, "loop.yaml", LOOP)
    assert run(capsys, "validate", path)[0] == 0

    code, out, err = run(capsys, "analyze", path, "--runs", "100")

    assert "Traceback" not in err
    assert code in (0, 2)
    if code == 2:
        assert err.startswith(PREFIX + str(path))
    else:
        assert "Lead time" in out


def _reject_constant(name: str) -> None:
    raise AssertionError(f"the JSON holds {name}, which is not valid JSON")


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(
    "change",
    [
        ("touch_minutes: 10, wait_minutes: 60", "touch_minutes: 1.0e+308, wait_minutes: 1.0e+308"),
        ("cases_per_year: 1000", "cases_per_year: 1.0e+308"),
    ],
    ids=["huge_minutes", "huge_volume"],
)
def test_analyze_of_finite_figures_too_large_to_add_up_is_refused_or_printed_never_crashed(
    capsys, tmp_path, change, as_json
):
    path = write(tmp_path, "huge.yaml", TINY.replace(*change))

    code, out, err = run(capsys, "analyze", path, "--runs", "0", *(["--json"] if as_json else []))

    assert "Traceback" not in err
    assert code in (0, 2)
    if code == 2:
        assert err.startswith(PREFIX + str(path))
    elif as_json:
        assert json.loads(out, parse_constant=_reject_constant)["model"] == "Tiny"
    else:
        assert "Lead time" in out


# --- propose -------------------------------------------------------------------------------------
def propose(capsys, source: Path, apply: str, output: Path) -> tuple[int, str, str]:
    return run(
        capsys, "propose", source, "--as-of", AS_OF, "--runs", "0", "--apply", apply, "-o", output
    )


def test_propose_by_id_removes_the_eliminated_step_and_writes_a_valid_faster_model(
    capsys, tmp_path
):
    source = MODELS / "bank_account_opening.yaml"
    original = source.read_bytes()
    output = tmp_path / "simplified.yaml"

    code, out, err = propose(capsys, source, "kyc.eliminate_nva.print_file", output)

    assert code == 0, err
    assert out.splitlines()[0] == f"Applied 1 proposal(s) to {source}; wrote {output}"
    assert out.splitlines()[1].startswith("  + kyc.eliminate_nva.print_file: ")
    assert source.read_bytes() == original
    assert run(capsys, "validate", output)[0] == 0
    assert "print_file" in step_ids(source, "kyc")
    assert "print_file" not in step_ids(output, "kyc")
    assert lead_minutes(output)["kyc"] < lead_minutes(source)["kyc"]
    assert lead_minutes(output)["open_account"] == pytest.approx(
        lead_minutes(source)["open_account"]
    )


def test_propose_by_rank_applies_the_proposal_with_that_rank(capsys, tmp_path):
    source = MODELS / "online_order_return.yaml"
    ranked = analyze(load_model(source), as_of=AS_OF_DATE, simulation_runs=0).proposals
    second = ranked[1]
    output = tmp_path / "by_rank.yaml"

    code, out, err = propose(capsys, source, "2", output)

    assert code == 0, err
    assert out.splitlines()[1] == f"  + {second.id}: {second.title}"
    assert len(out.splitlines()) == 2
    assert run(capsys, "validate", output)[0] == 0
    assert lead_minutes(output)[second.process] <= lead_minutes(source)[second.process]
    assert lead_minutes(output)[second.process] == pytest.approx(second.after.lead_minutes)


def test_propose_accepts_ids_and_ranks_together_and_applies_each_once(capsys, tmp_path):
    source = MODELS / "it_access_request.yaml"
    analysis = analyze(load_model(source), as_of=AS_OF_DATE, simulation_runs=0)
    best = analysis.proposals[0]
    spreadsheet = analysis.proposal("access.eliminate_nva.spreadsheet")
    assert best is not spreadsheet
    output = tmp_path / "mixed.yaml"

    code, out, err = propose(capsys, source, f"1, {best.id},{spreadsheet.id}", output)

    assert code == 0, err
    assert out.splitlines()[1:] == [
        f"  + {best.id}: {best.title}",
        f"  + {spreadsheet.id}: {spreadsheet.title}",
    ]
    assert "spreadsheet" not in step_ids(output, "access")


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.yaml")), ids=lambda p: p.stem)
def test_propose_all_writes_a_valid_model_no_slower_anywhere_without_the_eliminated_steps(
    capsys, tmp_path, path
):
    ranked = analyze(load_model(path), as_of=AS_OF_DATE, simulation_runs=0).proposals
    output = tmp_path / "all.yaml"

    code, out, err = propose(capsys, path, "all", output)

    assert code == 0, err
    lines = out.splitlines()
    applied = [line[4:].split(":", 1)[0] for line in lines if line.startswith("  + ")]
    skipped = [line[12:].split(":", 1)[0] for line in lines if line.startswith("  - skipped ")]
    assert lines[0] == f"Applied {len(applied)} proposal(s) to {path}; wrote {output}"
    assert len(lines) == 1 + len(applied) + len(skipped)
    assert sorted(applied + skipped) == sorted(p.id for p in ranked)
    assert applied[0] == ranked[0].id
    assert run(capsys, "validate", output)[0] == 0
    before, after = lead_minutes(path), lead_minutes(output)
    for process_id, minutes in before.items():
        assert after[process_id] <= minutes + 1e-6
    for proposal in ranked:
        if proposal.id in applied and proposal.rule == "eliminate_nva":
            assert proposal.targets[0] not in step_ids(output, proposal.process)


def test_propose_all_skips_a_proposal_that_changes_a_step_a_better_one_changes(capsys, tmp_path):
    source = write(tmp_path, "rework.yaml", REWORK)
    output = tmp_path / "out.yaml"
    ranked = analyze(load_model(source), as_of=AS_OF_DATE, simulation_runs=0).proposals
    by_rule = {p.rule: p for p in ranked}
    fix, move = by_rule["fix_input_at_source"], by_rule["move_check_earlier"]
    assert set(fix.targets) & set(move.targets) == {"complete"}
    assert fix.rank < move.rank

    code, out, err = propose(capsys, source, "all", output)

    assert code == 0, err
    assert f"  + {fix.id}: {fix.title}" in out.splitlines()
    assert any(line.startswith(f"  - skipped {move.id}: ") for line in out.splitlines())
    assert not any(line.startswith(f"  + {move.id}") for line in out.splitlines())
    assert "log" not in step_ids(output, "intake")
    assert lead_minutes(output)["intake"] < lead_minutes(source)["intake"]
    written = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert written["leanlane"] == 1


def test_propose_naming_two_proposals_that_change_the_same_step_exits_2(capsys, tmp_path):
    source = write(tmp_path, "rework.yaml", REWORK)
    output = tmp_path / "out.yaml"

    code, out, err = propose(
        capsys,
        source,
        "intake.fix_input_at_source.complete,intake.move_check_earlier.assess",
        output,
    )

    assert_clean_error(code, out, err, ("intake.fix_input_at_source.complete", "complete"))
    assert not output.exists()


def test_propose_with_an_unknown_proposal_id_exits_2_and_writes_nothing(capsys, tmp_path):
    source = MODELS / "insurance_claim.yaml"
    output = tmp_path / "out.yaml"

    code, out, err = propose(capsys, source, "claims.no_such_rule.nowhere", output)

    assert_clean_error(code, out, err, (str(source), "no proposal 'claims.no_such_rule.nowhere'"))
    assert not output.exists()


def test_propose_with_a_rank_beyond_the_last_exits_2(capsys, tmp_path):
    source = MODELS / "insurance_claim.yaml"

    code, out, err = propose(capsys, source, "999", tmp_path / "out.yaml")

    assert_clean_error(code, out, err, ("no proposal '999'",))


def test_propose_with_nothing_named_exits_2(capsys, tmp_path):
    code, out, err = propose(capsys, MODELS / "insurance_claim.yaml", " , ", tmp_path / "o.yaml")

    assert_clean_error(code, out, err, ("name at least one proposal",))


def test_propose_on_a_model_without_proposals_exits_2(capsys, tmp_path):
    source = write(tmp_path, "tiny.yaml", TINY)

    code, out, err = propose(capsys, source, "all", tmp_path / "out.yaml")

    assert_clean_error(code, out, err, (str(source), "no proposals to apply"))


def test_propose_into_a_missing_directory_exits_2(capsys, tmp_path):
    output = tmp_path / "no" / "such" / "dir" / "out.yaml"

    code, out, err = propose(capsys, MODELS / "insurance_claim.yaml", "1", output)

    assert_clean_error(code, out, err, (str(output), "cannot write"))
    assert not output.parent.exists()


def test_propose_with_a_bad_model_file_exits_2(capsys, tmp_path):
    source = write(tmp_path, "bad.yaml", TINY.replace("touch_minutes: 10", "tuch_minutes: 10"))

    code, out, err = propose(capsys, source, "all", tmp_path / "out.yaml")

    assert_clean_error(code, out, err, (str(source), "did you mean 'touch_minutes'?"))


# --- usage ---------------------------------------------------------------------------------------
def test_help_prints_usage_with_every_command_and_exits_0(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])

    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert out.startswith("usage: leanlane")
    for command in ("validate", "analyze", "propose"):
        assert command in out


def test_a_missing_subcommand_exits_2_with_usage(capsys):
    with pytest.raises(SystemExit) as exited:
        main([])

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith("usage: leanlane")
    assert "required: COMMAND" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyze", "x.yaml", "--as-of", "23/11/2026"], "not a date YYYY-MM-DD"),
        (["analyze", "x.yaml", "--runs", "-1"], "must be 0 or more"),
        (["analyze", "x.yaml", "--top", "many"], "not a whole number"),
        (["propose", "x.yaml", "-o", "out.yaml"], "--apply"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_usage_and_the_reason(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        main(argv)

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith("usage: leanlane")
    assert message in err


# --- the installed entry point -------------------------------------------------------------------
def test_the_installed_leanlane_script_prints_the_same_json_as_the_in_process_call(capsys):
    script = Path(sys.executable).parent / "leanlane"
    executable = str(script) if script.exists() else shutil.which("leanlane")
    assert executable, "the leanlane console script is not installed"
    path = MODELS / "expense_reimbursement.yaml"
    argv = ["analyze", str(path), "--json", "--as-of", AS_OF, "--runs", "150"]

    result = subprocess.run([executable, *argv], capture_output=True, text=True, check=False)
    code, out, _ = run(capsys, *argv)

    assert result.returncode == code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout) == json.loads(out)


@pytest.mark.parametrize("view", ["map", "blueprint", "heatmap"])
@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<svg"), (".png", b"\x89PNG"),
                                               (".pdf", b"%PDF")])
def test_render_writes_every_view_in_every_format(tmp_path, capsys, view, suffix, magic):
    out = tmp_path / f"out{suffix}"
    model = str(MODELS / "insurance_claim.yaml")
    assert main(["render", model, "--view", view, "--runs", "0", "-o", str(out)]) == 0
    assert magic in out.read_bytes()[:400]
    assert f"to {out}" in capsys.readouterr().out


def test_render_a_proposal_by_rank_as_diff_and_side_by_side(tmp_path):
    model = str(MODELS / "insurance_claim.yaml")
    for extra in ([], ["--side-by-side"]):
        out = tmp_path / f"p{len(extra)}.svg"
        args = ["render", model, "--view", "proposal", "--proposal", "1", "--runs", "0"]
        assert main([*args, *extra, "-o", str(out)]) == 0
        assert b"Proposal" in out.read_bytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--view", "proposal"], "needs --proposal"),
        (["--view", "proposal", "--proposal", "nope"], "no proposal 'nope'"),
        (["--process", "nope"], "no process 'nope'; this file has: file_claim, claims"),
        (["--view", "blueprint", "--process", "claims"], "needs a journey"),
    ],
)
def test_render_reports_what_is_wrong(tmp_path, capsys, extra, message):
    model = str(MODELS / "insurance_claim.yaml")
    out = tmp_path / "x.svg"
    assert main(["render", model, "--runs", "0", *extra, "-o", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_render_refuses_an_output_whose_format_it_cannot_tell(tmp_path, capsys):
    model = str(MODELS / "insurance_claim.yaml")
    assert main(["render", model, "-o", str(tmp_path / "x.gif")]) == 2
    assert "use --format svg|png|pdf" in capsys.readouterr().err


def test_render_takes_the_format_option_over_the_suffix(tmp_path):
    out = tmp_path / "diagram.out"
    model = str(MODELS / "insurance_claim.yaml")
    assert main(["render", model, "--runs", "0", "--format", "pdf", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
