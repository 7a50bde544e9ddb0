"""Editor edits on engine processes: each returns a new process, keeps it connected where it
promises to, and refuses field problems naming the field."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import process, step
from workflow.model import Flow, Lane, Process, Step
from workflow.services import editing
from workflow.services.errors import InvalidInput
from workflow.validate import check_process
from workflow.vocabulary import LaneKind, Perspective, StepKind, ValueClass

S, E, D = StepKind.START, StepKind.END, StepKind.DECISION


def starter() -> Process:
    return process([step("start", S), step("end", E)], [("start", "end")])


def branching() -> Process:
    return process(
        [step("s", S), step("x"), step("d", D), step("a"), step("b"), step("e", E)],
        [("s", "x"), ("x", "d"), ("d", "a", 0.3), ("d", "b", 0.7), ("a", "e"), ("b", "e")],
    )


def ids(p: Process) -> list[str]:
    return [s.id for s in p.steps()]


def refused(field: str, fn, *args, **kwargs) -> str:
    with pytest.raises(InvalidInput) as caught:
        fn(*args, **kwargs)
    assert caught.value.field == field
    return str(caught.value)


# --- ids ---------------------------------------------------------------------------------------
def test_suggested_ids_are_valid_and_unique():
    assert editing.suggest_id("Check ID & address") == "check_id_address"
    assert editing.suggest_id("Prüfen", {"prufen"}) == "prufen_2"
    assert editing.suggest_id("!!!", (), "lane") == "lane"


# --- adding steps ------------------------------------------------------------------------------
def test_adding_a_step_on_a_flow_keeps_the_process_connected_and_valid():
    before = starter()
    after = editing.add_step(
        before, Step("check", "Check ID", lane="clerk"), between=("start", "end")
    )
    assert ids(after) == ["start", "check", "end"]
    assert sorted(after.graph.edges) == [("check", "end"), ("start", "check")]
    assert check_process(after) == []
    assert ids(before) == ["start", "end"]


def test_a_step_added_on_a_branch_keeps_the_branch_probability():
    after = editing.add_step(branching(), Step("n", "New"), between=("d", "a"))
    assert after.flow("d", "n").probability == 0.3
    assert after.flow("n", "a") == Flow()
    assert check_process(after) == []


def test_a_step_added_without_a_place_is_a_draft_that_says_it_is_unreachable():
    after = editing.add_step(starter(), Step("loose", "Loose"))
    messages = [p.message for p in check_process(after)]
    assert any("no incoming flow" in m for m in messages)


def test_adding_a_step_refuses_a_taken_id_an_unknown_lane_and_bad_numbers():
    p = starter()
    assert "already has the id" in refused("id", editing.add_step, p, Step("end", "Again"))
    assert "lane" in refused("lane", editing.add_step, p, Step("x", "X", lane="nobody"))
    refused("id", editing.add_step, p, Step("bad id", "X"))
    refused("name", editing.add_step, p, Step("x", "  "))
    refused("touch_minutes", editing.add_step, p, Step("x", "X", touch_minutes=-1))
    refused("customer_value", editing.add_step, p, Step("x", "X", customer_value=6))
    refused("pct_complete_accurate", editing.add_step, p, Step("x", "X", pct_complete_accurate=0))
    refused("place", editing.add_step, p, Step("x", "X"), between=("end", "start"))
    refused("place", editing.add_step, p, Step("x", "X", kind=E), between=("start", "end"))


# --- editing, moving and deleting steps --------------------------------------------------------
def test_renaming_a_step_id_keeps_its_flows_place_and_signals():
    p = branching()
    after = editing.update_step(p, "a", Step("approve", "Approve", touch_minutes=5))
    assert ids(after) == ["s", "x", "d", "approve", "b", "e"]
    assert after.flow("d", "approve").probability == 0.3
    assert after.graph.has_edge("approve", "e")
    assert check_process(after) == []
    assert "a" in p and "approve" not in p


def test_editing_a_step_refuses_the_id_of_another_step():
    assert "already has the id" in refused(
        "id", editing.update_step, branching(), "a", Step("b", "B")
    )


def test_moving_a_step_changes_only_the_order():
    p = branching()
    after = editing.move_step(p, "b", -1)
    assert ids(after) == ["s", "x", "d", "b", "a", "e"]
    assert sorted(after.graph.edges) == sorted(p.graph.edges)
    assert "already the first" in refused("", editing.move_step, p, "s", -1)
    assert "already the last" in refused("", editing.move_step, p, "e", 1)


def test_deleting_a_step_reconnects_its_predecessors_to_its_successors():
    after = editing.delete_step(branching(), "x")
    assert after.graph.has_edge("s", "d")
    assert check_process(after) == []


def test_deleting_a_decision_hands_its_shares_to_the_step_before_it():
    after = editing.delete_step(branching(), "d")
    assert after.flow("x", "a").probability == pytest.approx(0.3)
    assert after.flow("x", "b").probability == pytest.approx(0.7)
    assert check_process(after) == []


def test_owners_may_delete_value_adding_and_required_steps():
    p = process(
        [step("s", S), step("v", value_class=ValueClass.VA, required_by="Law"), step("e", E)],
        [("s", "v"), ("v", "e")],
    )
    assert ids(editing.delete_step(p, "v")) == ["s", "e"]


def test_deleting_refuses_the_start_the_last_end_and_gateways_with_a_reason():
    p = branching()
    assert "start" in refused("", editing.delete_step, p, "s")
    assert "only end" in refused("", editing.delete_step, p, "e")
    parallel = process(
        [
            step("s", S),
            step("split", StepKind.PARALLEL_SPLIT),
            step("a"),
            step("b"),
            step("join", StepKind.PARALLEL_JOIN),
            step("e", E),
        ],
        [
            ("s", "split"),
            ("split", "a"),
            ("split", "b"),
            ("a", "join"),
            ("b", "join"),
            ("join", "e"),
        ],
    )
    assert "parallel" in refused("", editing.delete_step, parallel, "split")


def test_deleting_one_of_two_ends_shares_its_cases_among_the_other_ways_out():
    p = process(
        [step("s", S), step("d", D), step("ok", E), step("no", E), step("x")],
        [("s", "d"), ("d", "ok", 0.6), ("d", "no", 0.2), ("d", "x", 0.2), ("x", "ok")],
    )
    after = editing.delete_step(p, "no")
    assert after.flow("d", "ok").probability == pytest.approx(0.75)
    assert after.flow("d", "x").probability == pytest.approx(0.25)
    assert check_process(after) == []
    lone = process([step("s", S), step("a", E), step("b", E)], [("s", "a")])
    assert "only way out" in refused("", editing.delete_step, lone, "a")


def test_deleting_a_step_in_a_two_step_loop_is_refused_rather_than_making_a_self_loop():
    p = process(
        [step("s", S), step("a"), step("d", D), step("e", E)],
        [("s", "a"), ("a", "d"), ("d", "a", 0.2), ("d", "e", 0.8)],
    )
    assert "flow to itself" in refused("", editing.delete_step, p, "a")


# --- flows -------------------------------------------------------------------------------------
def test_flows_are_added_and_removed_with_clear_refusals():
    p = editing.add_step(starter(), Step("x", "X"))
    added = editing.add_flow(p, "start", "x", Flow(label="sometimes"))
    assert added.flow("start", "x").label == "sometimes"
    assert "already a flow" in refused("target", editing.add_flow, added, "start", "x")
    refused("target", editing.add_flow, p, "x", "x")
    refused("source", editing.add_flow, p, "end", "x")
    refused("target", editing.add_flow, p, "x", "start")
    refused("source", editing.add_flow, p, "nope", "x")
    refused("probability", editing.add_flow, p, "x", "end", Flow(probability=1.5))
    removed = editing.delete_flow(added, "start", "x")
    assert not removed.graph.has_edge("start", "x")
    refused("", editing.delete_flow, removed, "start", "x")


def test_setting_every_way_out_of_a_decision_at_once_keeps_the_flow_order():
    p = branching()
    after = editing.set_exits(
        p, "d", [("a", Flow(0.5)), ("b", Flow(0.4, label="no")), ("x", Flow(0.1, rework=True))]
    )
    assert [(u, v) for u, v, _ in after.flows()][2:5] == [("d", "a"), ("d", "b"), ("d", "x")]
    assert after.flow("d", "x").rework
    assert check_process(after) == []
    assert "different step" in refused(
        "target", editing.set_exits, p, "d", [("a", Flow()), ("a", Flow())]
    )


def test_probabilities_that_do_not_add_up_are_a_draft_problem_not_a_refusal():
    after = editing.set_exits(branching(), "d", [("a", Flow(0.5)), ("b", Flow(0.6))])
    assert any("add up to" in p.message for p in check_process(after))


# --- lanes and properties ----------------------------------------------------------------------
def test_lanes_are_added_renamed_and_deleted_with_their_steps_moved():
    p = process([step("s", S), step("a", lane="clerk"), step("e", E)], [("s", "a"), ("a", "e")])
    added = editing.add_lane(p, Lane("robot", "Robot", LaneKind.SYSTEM, 5.0))
    assert added.lane("robot").cost_per_hour == 5.0
    renamed = editing.update_lane(added, "clerk", Lane("agent", "Agent", cost_per_hour=50))
    assert renamed.step("a").lane == "agent"
    moved = editing.delete_lane(renamed, "agent", "robot")
    assert moved.step("a").lane == "robot" and moved.lane("agent") is None
    emptied = editing.delete_lane(renamed, "agent")
    assert emptied.step("a").lane is None
    assert check_process(moved) == []
    refused("id", editing.add_lane, p, Lane("clerk", "Again"))
    refused("cost_per_hour", editing.add_lane, p, Lane("x", "X", cost_per_hour=-1))
    refused("move_to", editing.delete_lane, p, "clerk", "nowhere")


def test_process_properties_change_and_refuse_an_empty_name():
    p = starter()
    after = editing.update_properties(
        p, name=" Claims ", description="d", volume=1200, perspective=Perspective.CUSTOMER_JOURNEY
    )
    assert (after.name, after.volume, after.perspective) == (
        "Claims",
        1200.0,
        Perspective.CUSTOMER_JOURNEY,
    )
    refused(
        "name",
        editing.update_properties,
        p,
        name="",
        description="",
        volume=0,
        perspective=Perspective.EMPLOYEE_PROCESS,
    )
    refused(
        "volume",
        editing.update_properties,
        p,
        name="x",
        description="",
        volume=-1,
        perspective=Perspective.EMPLOYEE_PROCESS,
    )


# --- comparing ---------------------------------------------------------------------------------
def test_compare_names_added_removed_and_changed_steps_flows_and_lanes():
    old = branching()
    new = editing.update_step(old, "a", step("a", touch_minutes=9, lane="clerk"))
    new = editing.delete_step(new, "x")
    new = editing.add_step(new, Step("n", "New"), between=("b", "e"))
    new = editing.set_exits(new, "d", [("a", Flow(0.4)), ("b", Flow(0.6))])
    new = editing.add_lane(new, Lane("robot", "Robot"))
    changes = editing.compare(old, new)
    assert [s.id for s in changes.steps_added] == ["n"]
    assert [s.id for s in changes.steps_removed] == ["x"]
    (changed,) = changes.steps_changed
    assert {c.attribute for c in changed.changes} == {"touch_minutes", "lane"}
    assert ("s", "d") in {(u, v) for u, v, _ in changes.flows_added}
    assert {(c.source, c.target) for c in changes.flows_changed} == {("d", "a"), ("d", "b")}
    assert [lane.id for lane in changes.lanes_added] == ["robot"]
    assert not changes.empty
    assert editing.compare(old, old).empty


# --- properties of every edit ------------------------------------------------------------------
ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["add", "add_loose", "update", "delete", "move", "flow", "lane"]),
        st.integers(0, 50),
        st.integers(0, 50),
        st.text("abcdef _", min_size=1, max_size=6),
    ),
    max_size=25,
)


def _apply(p: Process, action: tuple[str, int, int, str]) -> Process:
    kind, i, j, name = action
    nodes = list(p.graph)
    edges = list(p.graph.edges)
    taken = set(nodes)
    new_step = Step(editing.suggest_id(name, taken), name.strip() or "Step")
    if kind == "add" and edges:
        return editing.add_step(p, new_step, between=edges[i % len(edges)])
    if kind == "add_loose":
        return editing.add_step(p, new_step)
    if kind == "update":
        old = p.step(nodes[i % len(nodes)])
        return editing.update_step(p, old.id, Step(new_step.id, new_step.name, old.kind))
    if kind == "delete":
        return editing.delete_step(p, nodes[i % len(nodes)])
    if kind == "move":
        return editing.move_step(p, nodes[i % len(nodes)], 1 if j % 2 else -1)
    if kind == "flow":
        return editing.add_flow(p, nodes[i % len(nodes)], nodes[j % len(nodes)])
    return editing.add_lane(p, Lane(editing.suggest_id(name, {x.id for x in p.lanes}, "l"), "L"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIONS)
def test_random_edit_sequences_keep_ids_unique_and_never_change_their_input(actions):
    p = branching()
    for action in actions:
        before = p.fingerprint()
        try:
            after = _apply(p, action)
        except InvalidInput:
            assert p.fingerprint() == before
            continue
        assert p.fingerprint() == before
        assert after.graph is not p.graph
        assert len(set(after.graph)) == len(after)
        assert all(s.id == node for node, s in after.graph.nodes(data="step"))
        assert len({lane.id for lane in after.lanes}) == len(after.lanes)
        assert all(u in after.graph and v in after.graph for u, v in after.graph.edges)
        p = after


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), st.booleans()), max_size=15))
def test_adding_on_flows_and_deleting_task_steps_keeps_a_valid_process_valid(actions):
    p = branching()
    for i, j, add in actions:
        if add:
            edges = list(p.graph.edges)
            source, target = edges[i % len(edges)]
            p = editing.add_step(
                p, Step(editing.suggest_id(f"n{j}", set(p.graph)), "N"), between=(source, target)
            )
        else:
            tasks = [s.id for s in p.steps() if s.kind is StepKind.TASK]
            if not tasks:
                continue
            try:
                p = editing.delete_step(p, tasks[i % len(tasks)])
            except InvalidInput:
                continue
        assert check_process(p) == []
