import datetime as dt
from pathlib import Path

import pytest

from workflow.errors import ModelError
from workflow.model import Flag, Link
from workflow.vocabulary import FlagCategory, FlagSource, StepKind
from workflow.yaml_format import MAX_FILE_BYTES, dumps_model, load_model, loads_model

MODELS = sorted((Path(__file__).parent.parent / "process_models").glob("*.yaml"))

SMALL = """\
leanlane: 1
name: Small
processes:
  - id: journey
    name: Journey
    perspective: customer_journey
    lanes: [{id: customer, kind: customer}]
    steps:
      - {id: s, name: Start, kind: start, lane: customer}
      - id: ask
        name: Ask
        lane: customer
        touch_minutes: 4
        outputs: [address]
        served_by: [work/do]
        ces: [2, {score: 6, date: 2026-10-02}]
        flags:
          - {source: customer, category: asked_twice, severity: 4, text: "again?", date: 2026-11-01}
      - {id: e, name: End, kind: end, lane: customer}
    flows: [s -> ask, ask -> e]
  - id: work
    name: Work
    cases_per_year: 500
    lanes: [{id: clerk, name: Clerk, cost_per_hour: 40}]
    steps:
      - {id: s, name: Start, kind: start, lane: clerk}
      - {id: do, name: "No", lane: clerk, touch_minutes: 10, wait_minutes: 60}
      - {id: e, name: End, kind: end, lane: clerk}
    flows: [s -> do, do -> e]
"""


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ModelError) as caught:
        loads_model(text, "model.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_small_model_loads_with_every_kind_of_content():
    model = loads_model(SMALL)
    journey, work = model.processes
    ask = journey.step("ask")
    assert ask.touch_minutes == 4.0 and ask.outputs == ("address",)
    assert [a.score for a in ask.ces] == [2, 6] and ask.ces[1].date == dt.date(2026, 10, 2)
    assert ask.flags == (
        Flag(FlagSource.CUSTOMER, FlagCategory.ASKED_TWICE, 4, "again?", date=dt.date(2026, 11, 1)),
    )
    assert model.links == (Link("journey", "ask", "work", "do"),)
    assert work.volume == 500 and work.lane("clerk").cost_per_hour == 40


def test_text_that_yaml_would_read_as_a_boolean_stays_text():
    assert loads_model(SMALL).process("work").step("do").name == "No"


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_saving_and_loading_again_loses_nothing(path):
    model = load_model(path)
    again = loads_model(dumps_model(model))
    assert again.name == model.name and again.description == model.description
    assert again.links == model.links
    for before, after in zip(model.processes, again.processes, strict=True):
        assert after.fingerprint() == before.fingerprint()


def test_saving_twice_gives_the_same_text():
    text = dumps_model(loads_model(SMALL))
    assert dumps_model(loads_model(text)) == text


def test_a_misspelled_field_is_named_with_its_line_and_a_suggestion():
    text = SMALL.replace("touch_minutes: 4", "tuch_minutes: 4")
    (problem,) = problems_of(text)
    line = line_of(text, "tuch_minutes")
    assert problem.startswith(f"line {line}: processes[journey].steps[ask].tuch_minutes")
    assert "did you mean 'touch_minutes'" in problem


def test_every_problem_is_reported_not_just_the_first():
    text = SMALL.replace("touch_minutes: 4", "touch_minutes: four").replace(
        "severity: 4", "severity: 9"
    )
    found = problems_of(text)
    assert any("touch_minutes: must be a number" in p for p in found)


def test_an_unknown_word_lists_the_allowed_ones():
    (problem,) = problems_of(SMALL.replace("kind: customer}", "kind: client}"))
    assert "'client' is not one of: role, team, system, customer, partner" in problem


def test_graph_problems_carry_the_line_of_the_step():
    text = SMALL.replace("flows: [s -> do, do -> e]", "flows: [s -> do]")
    found = problems_of(text)
    line = line_of(text, "{id: do,")
    assert any(p.startswith(f"line {line}: processes[work].steps[do]") for p in found), found


def test_a_flow_to_a_missing_step_suggests_the_closest_id():
    (problem,) = problems_of(SMALL.replace("ask -> e]", "ask -> ee, ask -> e]"))
    assert "no step has id 'ee'; did you mean 'e'?" in problem


def test_a_link_to_a_missing_step_is_rejected():
    found = problems_of(SMALL.replace("work/do", "work/nothing"))
    assert any("served_by" in p and "'nothing'" in p for p in found)


def test_a_link_written_without_a_slash_is_rejected():
    found = problems_of(SMALL.replace("work/do", "do"))
    assert any("must be written process/step" in p for p in found)


def test_duplicate_step_ids_and_flows_are_rejected():
    dup = SMALL.replace(
        "      - {id: e, name: End, kind: end, lane: clerk}",
        "      - {id: e, name: End, kind: end, lane: clerk}\n"
        "      - {id: do, name: Again, lane: clerk}",
    )
    assert any("is used by two steps" in p for p in problems_of(dup))
    twice = SMALL.replace("[s -> do, do -> e]", "[s -> do, do -> e, s -> do]")
    assert any("appears twice" in p for p in problems_of(twice))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "the file is empty"),
        ("leanlane: 1\nname: [unclosed", "not valid YAML"),
        ("- just\n- a list", "must be a mapping"),
        ("leanlane: 2\nname: x\nprocesses: []", "format version 2 is not supported"),
        ("name: x\nprocesses: []", "leanlane: is required"),
        ("leanlane: 1\nname: x\nprocesses: []", "processes: must list at least one process"),
        ("!!python/object/apply:os.system ['echo hi']", "unsupported tag"),
        ("leanlane: 1\nname: &a x\ndescription: *a\nprocesses: []", "aliases"),
        ("a: 1\na: 2", "appears twice"),
    ],
)
def test_hostile_or_broken_files_get_a_clear_error(text, expected):
    assert any(expected in p for p in problems_of(text)), problems_of(text)


def test_a_billion_laughs_file_is_refused_without_expanding_it():
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        levels.append(f"a{i}: &a{i} [{', '.join(['*a' if i == 1 else f'*a{i - 1}'] * 10)}]")
    assert any("aliases" in p for p in problems_of("\n".join(levels)))


def test_deep_nesting_is_refused():
    assert problems_of("[" * 5000 + "]" * 5000)


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ModelError, match="larger than"):
        load_model(path)


def test_missing_and_unreadable_files_are_named(tmp_path):
    with pytest.raises(ModelError, match="file not found"):
        load_model(tmp_path / "nope.yaml")
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9".encode("latin-1"))
    with pytest.raises(ModelError, match="not UTF-8"):
        load_model(tmp_path / "latin1.yaml")
    with pytest.raises(ModelError, match="directory"):
        load_model(tmp_path)


def test_the_error_message_names_the_file():
    with pytest.raises(ModelError) as caught:
        loads_model("leanlane: 1\nname: x\nprocesses: []", "my.yaml")
    assert str(caught.value).startswith("my.yaml: processes")


def test_start_and_end_kinds_come_through():
    model = loads_model(SMALL)
    assert model.process("work").step("s").kind is StepKind.START
