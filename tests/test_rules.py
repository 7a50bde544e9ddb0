import datetime as dt

import pytest

from tests.helpers import line, process, step
from workflow.analysis import analyze
from workflow.edits import RemoveStep, UpdateStep
from workflow.model import Flag, Link, ProcessModel
from workflow.proposals import ProposalConflict, apply_proposals, apply_to_model, conflicts
from workflow.rules import RULES, Category, rules_in_order
from workflow.vocabulary import FlagCategory, FlagSource, Perspective, StepKind, ValueClass

S, E, D = StepKind.START, StepKind.END, StepKind.DECISION
NVA, VA = ValueClass.NVA, ValueClass.VA
TODAY = dt.date(2026, 11, 23)


def proposals(p, rule, model=None):
    model = model or ProcessModel("m", (p,))
    return list(analyze(model, as_of=TODAY, simulation_runs=0, rules=[rule]).proposals)


def test_rules_are_registered_in_ecrs_order():
    categories = [r.category for r in rules_in_order()]
    assert categories == sorted(categories, key=list(Category).index)
    assert len(RULES) == 10


def test_eliminate_removes_an_unprotected_nva_step_and_cites_evidence():
    p = line(step("print", touch_minutes=5, wait_minutes=60, value_class=NVA), step("a"))
    (found,) = proposals(p, "eliminate_nva")
    assert found.targets == ("print",) and "print" not in found.proposed
    assert found.lead_minutes_saved == pytest.approx(65)
    assert found.hours_saved_per_year == pytest.approx(1000 * 5 / 60)
    assert any("NVA" in e for e in found.evidence)


@pytest.mark.parametrize(
    "attributes",
    [
        {"value_class": NVA, "required_by": "Archiving law"},
        {"value_class": VA},
        {"value_class": None},
        {"value_class": NVA, "flags": (Flag(FlagSource.STAFF, FlagCategory.CHASING_STATUS, 3),)},
    ],
)
def test_eliminate_leaves_protected_valuable_unclassified_and_failure_work(attributes):
    assert proposals(line(step("x", touch_minutes=5, **attributes)), "eliminate_nva") == []


def test_eliminate_leaves_the_fix_step_of_a_rework_loop_to_other_rules():
    p = process(
        [step("s", S), step("w"), step("d", D), step("fix", value_class=NVA), step("e", E)],
        [("s", "w"), ("w", "d"), ("d", "fix", 0.3), ("fix", "w", None, True), ("d", "e", 0.7)],
    )
    assert proposals(p, "eliminate_nva") == []


def test_combine_merges_neighbours_of_one_lane_that_queue_twice():
    p = line(
        step("a", touch_minutes=5, wait_minutes=100, lane="clerk"),
        step("b", touch_minutes=5, wait_minutes=40, lane="clerk"),
    )
    (found,) = proposals(p, "combine_adjacent")
    assert found.lead_minutes_saved == pytest.approx(40)
    assert found.proposed.step("a").merged_from == ("a", "b")


@pytest.mark.parametrize(
    "second",
    [
        {"lane": "boss", "wait_minutes": 40},
        {"lane": "clerk", "wait_minutes": 0},
        {"lane": "clerk", "wait_minutes": 40, "kind": StepKind.WAIT},
    ],
)
def test_combine_needs_one_lane_two_queues_and_real_work(second):
    kind = second.pop("kind", StepKind.TASK)
    p = line(step("a", wait_minutes=100, lane="clerk"), step("b", kind, **second))
    assert proposals(p, "combine_adjacent") == []


def test_pingpong_between_two_lanes_is_collapsed_into_one():
    p = line(
        step("a", lane="clerk", wait_minutes=60),
        step("b", lane="boss", wait_minutes=600),
        step("c", lane="clerk", wait_minutes=60),
    )
    (found,) = proposals(p, "collapse_pingpong")
    assert found.handoffs_saved == pytest.approx(2)
    assert found.proposed.step("a").lane == "clerk"
    assert any("skills" in r for r in found.risks)


@pytest.mark.parametrize("middle", [{"kind": StepKind.APPROVAL}, {"required_by": "Four-eyes rule"}])
def test_pingpong_keeps_approvals_and_protected_steps_where_they_are(middle):
    kind = middle.pop("kind", StepKind.TASK)
    p = line(
        step("a", lane="clerk"), step("b", kind, lane="boss", **middle), step("c", lane="clerk")
    )
    assert proposals(p, "collapse_pingpong") == []


def test_data_keyed_twice_is_captured_once():
    p = line(
        step("capture", outputs=("name", "address")),
        step("rekey", touch_minutes=10, outputs=("name", "address"), value_class=NVA),
        step("partly", touch_minutes=10, outputs=("address", "iban")),
    )
    found = {f.targets[0]: f for f in proposals(p, "merge_duplicate_capture")}
    assert isinstance(found["rekey"].edits[0], RemoveStep)
    assert isinstance(found["partly"].edits[0], UpdateStep)
    assert found["partly"].proposed.step("partly").touch_minutes == pytest.approx(5)
    assert "'Capture'" in found["rekey"].rationale


def test_data_the_customer_already_gave_counts_as_captured():
    journey = line(step("apply", lane="customer", outputs=("income",)), lane="customer")
    journey = process(
        list(journey.steps()),
        [(u, v) for u, v, _ in journey.flows()],
        id="j",
        perspective=Perspective.CUSTOMER_JOURNEY,
    )
    work = line(step("key", touch_minutes=8, outputs=("income",)))
    model = ProcessModel("m", (journey, work), (Link("j", "apply", "p", "key"),))
    (found,) = proposals(work, "merge_duplicate_capture", model)
    assert "customer journey" in found.rationale


def test_independent_steps_are_run_in_parallel_but_dependent_ones_are_not():
    independent = line(
        step("a", touch_minutes=10, wait_minutes=100, inputs=("x",), outputs=("y",)),
        step("b", touch_minutes=10, wait_minutes=200, inputs=("x",), outputs=("z",)),
    )
    (found,) = proposals(independent, "parallelize_independent")
    assert found.lead_minutes_saved == pytest.approx(110)
    dependent = line(
        step("a", wait_minutes=100, inputs=("x",), outputs=("y",)),
        step("b", wait_minutes=200, inputs=("y",)),
    )
    assert proposals(dependent, "parallelize_independent") == []
    undeclared = line(step("a", wait_minutes=100), step("b", wait_minutes=200))
    assert proposals(undeclared, "parallelize_independent") == []


def loop_with_work(check_inputs=()):
    return process(
        [
            step("s", S),
            step("receive"),
            step("work", touch_minutes=30, outputs=("report",)),
            step("check", D, touch_minutes=5, inputs=check_inputs),
            step("fix", value_class=NVA),
            step("next"),
            step("e", E),
        ],
        [
            ("s", "receive"),
            ("receive", "work"),
            ("work", "check"),
            ("check", "fix", 0.4),
            ("fix", "receive", None, True),
            ("check", "next", 0.6),
            ("next", "e"),
        ],
    )


def test_a_check_moves_before_the_work_it_makes_redo():
    (found,) = proposals(loop_with_work(), "move_check_earlier")
    assert found.targets == ("work", "check")
    assert found.after.visits["work"] == pytest.approx(1.0)
    assert found.before.visits["work"] == pytest.approx(1 / 0.6)
    assert any("no inputs recorded" in r for r in found.risks)


def test_a_check_that_needs_the_work_stays_after_it():
    assert proposals(loop_with_work(check_inputs=("report",)), "move_check_earlier") == []


def test_input_is_fixed_at_its_source_where_a_check_returns_many_cases():
    (found,) = proposals(loop_with_work(), "fix_input_at_source")
    assert found.after.rework_passes < found.before.rework_passes
    assert found.proposed.flow("check", "fix").probability == pytest.approx(0.1)


def test_busy_manual_system_work_is_automated():
    p = line(step("key", StepKind.SYSTEM, touch_minutes=12, lane="clerk", systems=("ERP",)))
    p = process(list(p.steps()), [(u, v) for u, v, _ in p.flows()], volume=20_000)
    (found,) = proposals(p, "automate_system_work")
    assert found.proposed.step("key").touch_minutes == pytest.approx(1.2)
    assert "ERP" in found.rationale
    quiet = line(step("key", StepKind.SYSTEM, touch_minutes=1, lane="clerk"))
    assert proposals(quiet, "automate_system_work") == []


def approval(reject: float, **attributes):
    return process(
        [
            step("s", S),
            step(
                "ok",
                StepKind.APPROVAL,
                touch_minutes=5,
                wait_minutes=1440,
                lane="boss",
                **attributes,
            ),
            step("go"),
            step("no"),
            step("e", E),
        ],
        [("s", "ok"), ("ok", "go", 1 - reject), ("ok", "no", reject), ("go", "e"), ("no", "e")],
    )


def test_an_approval_that_almost_never_rejects_becomes_a_rule():
    (found,) = proposals(approval(0.02), "approval_to_rule")
    assert found.proposed.step("ok").kind is StepKind.SYSTEM
    assert found.lead_minutes_saved > 1400
    assert "98.0%" in found.rationale


def test_real_approvals_and_required_approvals_stay():
    assert proposals(approval(0.2), "approval_to_rule") == []
    assert proposals(approval(0.01, required_by="SOX"), "approval_to_rule") == []


def test_customers_chasing_status_get_proactive_updates():
    chase = Flag(FlagSource.CUSTOMER, FlagCategory.CHASING_STATUS, 4, me_too=2)
    p = process(
        [
            step("s", S),
            step("wait", StepKind.WAIT, wait_minutes=2000),
            step("q", D),
            step("call", touch_minutes=10, lane="clerk", flags=(chase,)),
            step("done"),
            step("e", E),
        ],
        [
            ("s", "wait"),
            ("wait", "q"),
            ("q", "call", 0.4),
            ("call", "wait"),
            ("q", "done", 0.6),
            ("done", "e"),
        ],
    )
    (found,) = proposals(p, "proactive_status")
    assert found.proposed.flow("q", "call").probability == pytest.approx(0.08)
    assert any(s.name == "Send proactive status update" for s in found.proposed.steps())
    assert "3 people" in found.rationale


def sample_model():
    p = line(
        step("a", touch_minutes=5, wait_minutes=60, value_class=NVA, lane="clerk"),
        step("b", touch_minutes=5, wait_minutes=60, lane="clerk"),
        step("c", touch_minutes=5, wait_minutes=60, value_class=NVA, lane="boss"),
    )
    return ProcessModel("m", (p,))


def test_proposals_are_ranked_with_unique_ids():
    found = analyze(sample_model(), as_of=TODAY, simulation_runs=0).proposals
    assert [p.rank for p in found] == list(range(1, len(found) + 1))
    assert len({p.id for p in found}) == len(found)
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)


def test_compatible_proposals_apply_together_and_clashing_ones_do_not():
    model = sample_model()
    found = analyze(model, as_of=TODAY, simulation_runs=0).proposals
    by_target = {p.targets: p for p in found}
    both = [by_target[("a",)], by_target[("c",)]]
    result = apply_proposals(model.processes[0], both)
    assert "a" not in result and "c" not in result
    clash = [p for p in found if "b" in p.targets and p.rule == "combine_adjacent"]
    assert clash and conflicts([by_target[("a",)], clash[0]])
    with pytest.raises(ProposalConflict, match="both change"):
        apply_proposals(model.processes[0], [by_target[("a",)], clash[0]])


def test_applying_to_a_model_repoints_links_at_merged_steps():
    journey = line(step("ask", lane="customer"), lane="customer")
    journey = process(
        list(journey.steps()),
        [(u, v) for u, v, _ in journey.flows()],
        id="j",
        perspective=Perspective.CUSTOMER_JOURNEY,
    )
    work = line(step("a", wait_minutes=60, lane="clerk"), step("b", wait_minutes=60, lane="clerk"))
    model = ProcessModel("m", (journey, work), (Link("j", "ask", "p", "b"),))
    (merge,) = analyze(model, as_of=TODAY, simulation_runs=0, rules=["combine_adjacent"]).proposals
    result = apply_to_model(model, [merge])
    assert result.links == (Link("j", "ask", "p", "a"),)
