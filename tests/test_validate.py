import itertools

import pytest

from tests.helpers import line, process, step
from workflow.errors import ModelError
from workflow.model import Link, ProcessModel
from workflow.validate import check_model, check_process, validate_process
from workflow.vocabulary import Perspective, StepKind

S, E = StepKind.START, StepKind.END


def messages(p) -> list[str]:
    return [str(problem) for problem in check_process(p)]


def test_a_straight_line_is_valid():
    assert check_process(line(step("a", touch_minutes=5))) == []


def test_exactly_one_start_is_required():
    p = process(
        [step("s1", S), step("s2", S), step("a"), step("e", E)],
        [("s1", "a"), ("s2", "a"), ("a", "e")],
    )
    assert any("exactly one step of kind 'start' (found 2: s1, s2)" in m for m in messages(p))


def test_an_end_is_required():
    p = process([step("s", S), step("a"), step("b")], [("s", "a"), ("a", "b"), ("b", "a")])
    assert any("at least one step of kind 'end'" in m for m in messages(p))


def test_unreachable_and_dead_end_steps_are_named():
    p = process(
        [step("s", S), step("a"), step("orphan"), step("e", E)],
        [("s", "a"), ("a", "e"), ("orphan", "e")],
    )
    assert any("steps[orphan]: has no incoming flow" in m for m in messages(p))


def test_a_loop_with_no_way_out_is_reported():
    p = process(
        [step("s", S), step("a"), step("d", StepKind.DECISION), step("e", E)],
        [("s", "a"), ("a", "d"), ("d", "a", 1.0, True), ("d", "e", 0.0)],
    )
    assert any("cannot reach an end" in m for m in messages(p))


def test_probabilities_must_add_up_to_one():
    p = process(
        [step("s", S), step("d", StepKind.DECISION), step("a"), step("b"), step("e", E)],
        [("s", "d"), ("d", "a", 0.5), ("d", "b", 0.4), ("a", "e"), ("b", "e")],
    )
    assert any("add up to 0.9, not 1" in m for m in messages(p))


def test_every_way_out_of_a_choice_needs_a_probability():
    p = process(
        [step("s", S), step("d", StepKind.DECISION), step("a"), step("b"), step("e", E)],
        [("s", "d"), ("d", "a", 0.5), ("d", "b"), ("a", "e"), ("b", "e")],
    )
    assert any("each needs a probability" in m for m in messages(p))


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_a_probability_must_be_between_0_and_1(value):
    p = process(
        [step("s", S), step("d", StepKind.DECISION), step("a"), step("b"), step("e", E)],
        [("s", "d"), ("d", "a", value), ("d", "b", 0.5), ("a", "e"), ("b", "e")],
    )
    assert any("flows[d -> a].probability" in m for m in messages(p))


def test_a_single_way_out_cannot_carry_a_partial_probability():
    p = process([step("s", S), step("a"), step("e", E)], [("s", "a", 0.5), ("a", "e")])
    assert any("carries every case" in m for m in messages(p))


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("touch_minutes", -5.0, "must be at least 0 (got -5)"),
        ("wait_minutes", float("inf"), "must be a finite number"),
        ("customer_value", 6, "must be at most 5"),
        ("pct_complete_accurate", 0.0, "must be above 0"),
        ("pct_complete_accurate", 120.0, "must be at most 100"),
    ],
)
def test_step_values_are_range_checked_with_the_field_named(field, value, expected):
    p = line(step("a", **{field: value}))
    assert any(f"steps[a].{field}: {expected}" in m for m in messages(p)), messages(p)


def test_an_unknown_lane_is_reported_with_the_lanes_that_exist():
    found = messages(line(step("a", lane="nobody")))
    assert any("names lane 'nobody'" in m and "clerk" in m for m in found)


def test_self_loops_are_rejected():
    p = process(
        [step("s", S), step("d", StepKind.DECISION), step("e", E)],
        [("s", "d"), ("d", "d", 0.5), ("d", "e", 0.5)],
    )
    assert any("cannot flow to itself" in m for m in messages(p))


def parallel(branches, extra_flows=()):
    steps = [
        step("s", S),
        step("split", StepKind.PARALLEL_SPLIT),
        step("join", StepKind.PARALLEL_JOIN),
        step("e", E),
    ]
    flows = [("s", "split"), ("join", "e")]
    for branch in branches:
        steps += [step(n) for n in branch]
        flows.append(("split", branch[0]))
        flows += list(itertools.pairwise(branch))
        flows.append((branch[-1], "join"))
    return process(steps, flows + list(extra_flows))


def test_a_well_nested_parallel_block_is_valid():
    assert messages(parallel([["a", "b"], ["c"]])) == []


def test_a_split_without_its_join_is_reported():
    p = process(
        [step("s", S), step("split", StepKind.PARALLEL_SPLIT), step("a"), step("b"), step("e", E)],
        [("s", "split"), ("split", "a"), ("split", "b"), ("a", "e"), ("b", "e")],
    )
    assert any("no matching parallel_join" in m for m in messages(p))


def test_branches_that_meet_before_the_join_are_reported():
    p = process(
        [
            step("s", S),
            step("split", StepKind.PARALLEL_SPLIT),
            step("a"),
            step("b"),
            step("m"),
            step("x"),
            step("join", StepKind.PARALLEL_JOIN),
            step("e", E),
        ],
        [
            ("s", "split"),
            ("split", "a"),
            ("split", "b"),
            ("a", "m"),
            ("b", "m"),
            ("m", "join"),
            ("split", "x"),
            ("x", "join"),
            ("join", "e"),
        ],
    )
    assert any("meet" in m or "incoming flows" in m for m in messages(p)), messages(p)


def test_a_branch_that_leaves_the_block_is_reported():
    p = process(
        [
            step("s", S),
            step("split", StepKind.PARALLEL_SPLIT),
            step("a"),
            step("d", StepKind.DECISION),
            step("b"),
            step("join", StepKind.PARALLEL_JOIN),
            step("e", E),
            step("e2", E),
            step("c"),
        ],
        [
            ("s", "split"),
            ("split", "a"),
            ("split", "b"),
            ("a", "d"),
            ("d", "join", 0.5),
            ("d", "e2", 0.5),
            ("b", "c"),
            ("c", "join"),
            ("join", "e"),
        ],
    )
    assert messages(p), "a branch escaping to another end must be refused"


def test_validate_process_raises_with_every_problem():
    with pytest.raises(ModelError) as caught:
        validate_process(line(step("a", touch_minutes=-1, wait_minutes=-1)), "x.yaml")
    assert len(caught.value.problems) == 2
    assert str(caught.value).startswith("x.yaml: ")


def test_links_must_go_from_a_journey_step_to_an_employee_step():
    journey = line(step("ask"), lane="customer")
    journey = process(
        list(journey.steps()),
        [(u, v) for u, v, _ in journey.flows()],
        id="j",
        perspective=Perspective.CUSTOMER_JOURNEY,
    )
    work = line(step("do"))
    good = ProcessModel("m", (journey, work), (Link("j", "ask", "p", "do"),))
    assert check_model(good) == []
    backwards = ProcessModel("m", (journey, work), (Link("p", "do", "j", "ask"),))
    assert any("only steps of a customer_journey" in str(p) for p in check_model(backwards))
    missing = ProcessModel("m", (journey, work), (Link("j", "ask", "p", "nope"),))
    assert any("'nope'" in str(p) for p in check_model(missing))
