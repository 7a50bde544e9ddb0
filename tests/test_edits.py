import pytest

from tests.helpers import line, process, step
from workflow.edits import (
    EditError,
    InsertBefore,
    MergeChain,
    MoveAfter,
    Parallelize,
    RemoveStep,
    ScaleBranch,
    UpdateStep,
    apply_edits,
)
from workflow.metrics import compute_metrics
from workflow.validate import check_process
from workflow.vocabulary import StepKind, ValueClass

S, E, D = StepKind.START, StepKind.END, StepKind.DECISION


def apply(p, *edits):
    result = apply_edits(p, [(edit, "test") for edit in edits])
    assert check_process(result) == []
    return result


def branching():
    return process(
        [
            step("s", S),
            step("x", value_class=ValueClass.NVA),
            step("d", D),
            step("a"),
            step("b"),
            step("e", E),
        ],
        [("s", "x"), ("x", "d"), ("d", "a", 0.3), ("d", "b", 0.7), ("a", "e"), ("b", "e")],
    )


def test_removing_a_step_reconnects_its_neighbours_and_keeps_probabilities():
    p = process(
        [step("s", S), step("d", D), step("x", D), step("a"), step("b"), step("e", E)],
        [
            ("s", "d"),
            ("d", "x", 0.4),
            ("d", "b", 0.6),
            ("x", "a", 0.5),
            ("x", "b", 0.5),
            ("a", "e"),
            ("b", "e"),
        ],
    )
    p = process(
        [*(s for s in p.steps() if s.id != "x"), step("x", StepKind.TASK)],
        [(u, v, f) for u, v, f in p.flows()],
    )
    result = apply(p, RemoveStep("x"))
    assert "x" not in result
    assert result.flow("d", "a").probability == pytest.approx(0.2)
    assert result.flow("d", "b").probability == pytest.approx(0.8)


def test_removing_leaves_every_other_steps_visits_unchanged():
    p = branching()
    before, after = compute_metrics(p), compute_metrics(apply(p, RemoveStep("x")))
    assert {k: v for k, v in before.visits.items() if k != "x"} == pytest.approx(dict(after.visits))


@pytest.mark.parametrize(
    "changed, reason",
    [
        ({"required_by": "Law 1"}, "required by Law 1"),
        ({"value_class": ValueClass.VA}, "adds value"),
    ],
)
def test_protected_and_value_adding_steps_cannot_be_removed(changed, reason):
    p = line(step("x", **changed))
    with pytest.raises(EditError, match=reason):
        apply(p, RemoveStep("x"))


def test_a_removal_that_would_make_a_step_flow_to_itself_is_refused():
    p = process(
        [step("s", S), step("d", D), step("fix"), step("e", E)],
        [("s", "d"), ("d", "fix", 0.2), ("fix", "d", None, True), ("d", "e", 0.8)],
    )
    with pytest.raises(EditError, match="flow to itself"):
        apply(p, RemoveStep("fix"))


def test_the_input_process_is_never_changed():
    p = branching()
    snapshot = p.fingerprint()
    apply(p, RemoveStep("x"))
    assert p.fingerprint() == snapshot


def test_merging_a_chain_adds_touch_keeps_one_wait_and_records_provenance():
    p = line(
        step("a", touch_minutes=5, wait_minutes=60, outputs=("x",)),
        step("b", touch_minutes=7, wait_minutes=30, inputs=("x",), required_by="Rule"),
    )
    merged = apply(p, MergeChain(("a", "b"), "A and B", "clerk")).step("a")
    assert (merged.touch_minutes, merged.wait_minutes) == (12, 60)
    assert merged.merged_from == ("a", "b") and merged.rule == "test"
    assert merged.required_by == "Rule" and merged.inputs == ()


def test_merging_steps_that_are_not_a_chain_is_refused():
    with pytest.raises(EditError, match="straight chain"):
        apply(branching(), MergeChain(("x", "a"), "X", "clerk"))


def test_parallelize_runs_a_chain_side_by_side():
    p = line(step("a", touch_minutes=10), step("b", touch_minutes=20))
    result = apply(p, Parallelize(("a", "b"), "ps", "pj"))
    assert result.step("ps").kind is StepKind.PARALLEL_SPLIT
    assert compute_metrics(result).lead_minutes == pytest.approx(20)


def test_move_after_puts_work_behind_the_check():
    p = process(
        [
            step("s", S),
            step("in"),
            step("w", touch_minutes=30),
            step("c", D),
            step("fix"),
            step("out"),
            step("e", E),
        ],
        [
            ("s", "in"),
            ("in", "w"),
            ("w", "c"),
            ("c", "fix", 0.5),
            ("fix", "in", None, True),
            ("c", "out", 0.5),
            ("out", "e"),
        ],
    )
    result = apply(p, MoveAfter(("w",), "c", "out"))
    assert set(result.graph.succ["c"]) == {"fix", "w"}
    assert compute_metrics(p).visits["w"] == pytest.approx(2)
    assert compute_metrics(result).visits["w"] == pytest.approx(1)


def test_scale_branch_keeps_the_choice_summing_to_one():
    result = apply(branching(), ScaleBranch("d", "a", 0.5))
    assert result.flow("d", "a").probability == pytest.approx(0.15)
    assert result.flow("d", "b").probability == pytest.approx(0.85)


def test_update_and_insert():
    p = apply(line(step("a", touch_minutes=10)), UpdateStep("a", (("touch_minutes", 1.0),)))
    assert p.step("a").touch_minutes == 1.0
    q = apply(p, InsertBefore(step("n", StepKind.SYSTEM), "a"))
    assert list(q.graph.succ["n"]) == ["a"] and list(q.graph.pred["n"]) == ["start"]
    with pytest.raises(EditError, match="already taken"):
        apply(q, InsertBefore(step("n"), "a"))


def test_an_edit_on_a_step_that_is_gone_says_so():
    with pytest.raises(EditError, match="no longer exists"):
        apply(line(step("a")), UpdateStep("zzz", ()))
