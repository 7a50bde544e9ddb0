"""Edits a process owner makes in the editor, as pure functions on engine processes.

Each function takes a :class:`~workflow.model.Process` first and returns a new one; the input
is never changed, so a refused edit leaves nothing half done and the caller can still compare
before and after. Field problems (an id already taken, a lane that does not exist, a number out
of range) are refused with :class:`~workflow.services.errors.InvalidInput` naming the form field
at fault. Shape problems (a step nobody reaches yet, probabilities that do not add up to 1) are
not refused: a half-drawn process is saved as a draft and the editor says what is left to fix.

Deleting a step routes its cases from each predecessor straight to its successors, the way
:class:`workflow.edits.RemoveStep` does for proposals, so the process stays connected.

Examples
--------
>>> from workflow.model import Process, Step
>>> from workflow.vocabulary import StepKind
>>> p = Process.build("p", [Step("start", "Start", StepKind.START),
...                         Step("end", "Done", StepKind.END)], [("start", "end")])
>>> q = add_step(p, Step("check", "Check ID"), between=("start", "end"))
>>> [s.id for s in q.steps()], list(q.graph.edges)
(['start', 'check', 'end'], [('start', 'check'), ('check', 'end')])
>>> [s.id for s in p.steps()]
['start', 'end']
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, fields, replace

import networkx as nx

from workflow.edits import EditError, RemoveStep
from workflow.model import Flow, Lane, Process, Step
from workflow.services.errors import InvalidInput
from workflow.validate import ID_PATTERN, MAX_CASES, MAX_COST_PER_HOUR, MAX_MINUTES
from workflow.vocabulary import Perspective, StepKind

__all__ = [
    "AttributeChange",
    "FlowChange",
    "ProcessChanges",
    "StepChange",
    "add_flow",
    "add_lane",
    "add_step",
    "compare",
    "delete_flow",
    "delete_lane",
    "delete_step",
    "move_step",
    "set_exits",
    "step_differences",
    "suggest_id",
    "update_lane",
    "update_properties",
    "update_step",
]

#: Step attributes an owner edits, in the order the editor and the comparison show them.
STEP_ATTRIBUTES = (
    "id",
    "name",
    "kind",
    "lane",
    "layer",
    "touch_minutes",
    "wait_minutes",
    "volume",
    "value_class",
    "customer_value",
    "business_value",
    "required_by",
    "pct_complete_accurate",
    "waste",
    "systems",
    "inputs",
    "outputs",
    "customer_name",
    "channel",
    "description",
)

ATTRIBUTE_WORDS = {
    "id": "id",
    "name": "name",
    "kind": "kind",
    "lane": "lane",
    "layer": "blueprint layer",
    "touch_minutes": "touch minutes",
    "wait_minutes": "wait minutes",
    "volume": "cases per year",
    "value_class": "value class",
    "customer_value": "customer value",
    "business_value": "business value",
    "required_by": "required by",
    "pct_complete_accurate": "%C&A",
    "waste": "waste",
    "systems": "systems",
    "inputs": "inputs",
    "outputs": "outputs",
    "customer_name": "customer-visible name",
    "channel": "channel",
    "description": "description",
    "probability": "probability",
    "rework": "rework",
    "label": "label",
    "perspective": "perspective",
    "cost_per_hour": "cost per hour",
}

_ID_RULE = (
    "Use letters, digits, '.', '_' or '-', starting with a letter or digit (at most 100 "
    "characters)."
)


# --- ids ---------------------------------------------------------------------------------------
def suggest_id(name: str, taken: Collection[str] = (), fallback: str = "step") -> str:
    """A valid id made from ``name`` that is not in ``taken``.

    >>> suggest_id("Check ID & address", {"check_id_address"})
    'check_id_address_2'
    """
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")[:60].rstrip("_") or fallback
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base}_{number}"
        number += 1
    return candidate


def _check_id(value: str, taken: Collection[str], field_name: str, what: str) -> None:
    if not ID_PATTERN.match(value):
        raise InvalidInput(_ID_RULE, field_name)
    if value in taken:
        raise InvalidInput(
            f"Another {what} of this process already has the id {value!r}.", field_name
        )


def _check_number(
    value: float | None, field_name: str, low: float, high: float, *, above_low: bool = False
) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("Enter a number.", field_name)
    if value < low or (above_low and value == low):
        word = "above" if above_low else "at least"
        raise InvalidInput(f"Must be {word} {low:g}.", field_name)
    if value > high:
        raise InvalidInput(f"Must be at most {high:,g}.", field_name)


def _check_step(process: Process, step: Step, old_id: str | None) -> None:
    taken = set(process.graph) - {old_id}
    _check_id(step.id, taken, "id", "step")
    if not step.name.strip():
        raise InvalidInput("Give the step a name.", "name")
    if step.lane is not None and process.lane(step.lane) is None:
        known = ", ".join(lane.id for lane in process.lanes) or "none yet"
        raise InvalidInput(f"There is no lane {step.lane!r} (lanes: {known}).", "lane")
    _check_number(step.touch_minutes, "touch_minutes", 0, MAX_MINUTES)
    _check_number(step.wait_minutes, "wait_minutes", 0, MAX_MINUTES)
    _check_number(step.volume, "volume", 0, MAX_CASES)
    for name in ("customer_value", "business_value"):
        value = getattr(step, name)
        _check_number(value, name, 0, 5)
        if value != int(value):
            raise InvalidInput("Use a whole number from 0 to 5.", name)
    _check_number(step.pct_complete_accurate, "pct_complete_accurate", 0, 100, above_low=True)


def _check_flow(flow: Flow) -> None:
    _check_number(flow.probability, "probability", 0, 1)


def _require_step(process: Process, step_id: str, field_name: str = "") -> Step:
    if step_id not in process.graph:
        raise InvalidInput(f"There is no step {step_id!r} in this process.", field_name)
    return process.step(step_id)


# --- graph rebuilding ---------------------------------------------------------------------------
def _rebuilt(
    process: Process,
    order: Sequence[str] | None = None,
    rename: dict[str, str] | None = None,
) -> Process:
    """A copy with the steps in ``order`` and ids renamed; flows keep their order."""
    rename = rename or {}
    graph = nx.DiGraph()
    for node in order if order is not None else list(process.graph):
        step = process.step(node)
        new_id = rename.get(node, node)
        graph.add_node(new_id, step=replace(step, id=new_id) if new_id != node else step)
    for source, target, flow in process.flows():
        graph.add_edge(rename.get(source, source), rename.get(target, target), flow=flow)
    return process.with_graph(graph)


def _tidy_single_exits(graph: nx.DiGraph, nodes: Iterable[str]) -> None:
    """A single way out carries every case, so it stores no probability."""
    for node in nodes:
        if node in graph and graph.out_degree(node) == 1:
            (target,) = graph.succ[node]
            flow = graph.edges[node, target]["flow"]
            if flow.probability is not None:
                graph.edges[node, target]["flow"] = replace(flow, probability=None)


# --- steps ----------------------------------------------------------------------------------------
def add_step(process: Process, step: Step, *, between: tuple[str, str] | None = None) -> Process:
    """A copy with ``step`` added; placed on the flow ``between`` (source, target) when given.

    The flow from source to target becomes source -> step -> target: the first part keeps the
    flow's probability, label and rework mark, so a decision's shares are unchanged. Without a
    place the step is added unconnected (a draft until flows reach it).
    """
    _check_step(process, step, None)
    if between is None:
        graph = process.graph.copy()
        graph.add_node(step.id, step=step)
        return process.with_graph(graph)
    source, target = between
    if not process.graph.has_edge(source, target):
        raise InvalidInput(f"There is no flow from {source!r} to {target!r}.", "place")
    if step.kind in (StepKind.START, StepKind.END):
        raise InvalidInput(
            f"A {step.kind.value} step cannot sit between two steps: add it unconnected "
            "and draw its flow instead.",
            "place",
        )
    order = list(process.graph)
    order.insert(order.index(source) + 1, step.id)
    graph = nx.DiGraph()
    for node in order:
        graph.add_node(node, step=step if node == step.id else process.step(node))
    old = process.flow(source, target)
    for u, v, flow in process.flows():
        if (u, v) == (source, target):
            graph.add_edge(source, step.id, flow=old)
            graph.add_edge(step.id, target, flow=Flow())
        else:
            graph.add_edge(u, v, flow=flow)
    return process.with_graph(graph)


def update_step(process: Process, step_id: str, step: Step) -> Process:
    """A copy with the step ``step_id`` replaced by ``step`` (which may carry a new id).

    Signals and provenance stay with the step; flows follow a renamed id.
    """
    old = _require_step(process, step_id)
    _check_step(process, step, step_id)
    kept = replace(step, flags=old.flags, ces=old.ces, merged_from=old.merged_from, rule=old.rule)
    changed = _rebuilt(process, rename={step_id: step.id} if step.id != step_id else None)
    changed.graph.nodes[step.id]["step"] = kept
    return changed


def delete_step(process: Process, step_id: str) -> Process:
    """A copy without the step; its predecessors flow straight to its successors.

    Refused, with the reason, for the start step, the last end step, parallel gateways, an end
    step that is the only way out of a step, and where reconnecting would make a step flow to
    itself or tangle parallel branches.
    """
    step = _require_step(process, step_id)
    name = f"{step.name!r}"
    if step.kind is StepKind.START:
        raise InvalidInput(f"{name} is the start of the process and cannot be deleted.")
    if step.kind in (StepKind.PARALLEL_SPLIT, StepKind.PARALLEL_JOIN):
        raise InvalidInput(
            f"{name} is a parallel {step.kind.value.split('_')[1]}: change its kind first, or "
            "delete the steps of its parallel branches."
        )
    graph = process.graph.copy()
    if step.kind is StepKind.END:
        if len(process.ends()) < 2:
            raise InvalidInput(f"{name} is the only end of the process and cannot be deleted.")
        predecessors = list(graph.pred[step_id])
        for pred in predecessors:
            if graph.out_degree(pred) == 1:
                raise InvalidInput(
                    f"{name} is the only way out of {process.step(pred).name!r}: give that "
                    "step another way out first."
                )
        graph.remove_node(step_id)
        for pred in predecessors:
            _rescale_exits(graph, pred)
        _tidy_single_exits(graph, predecessors)
        return process.with_graph(graph)
    graph.nodes[step_id]["step"] = replace(
        step, kind=StepKind.TASK, value_class=None, required_by=""
    )
    edit = RemoveStep(step_id)
    problem = edit.problem(graph)
    if problem:
        raise InvalidInput(f"{step.name!r} cannot be deleted: {problem}.")
    try:
        edit.apply(graph, "")
    except EditError as exc:
        raise InvalidInput(f"{step.name!r} cannot be deleted: {exc}.") from None
    return process.with_graph(graph)


def _rescale_exits(graph: nx.DiGraph, node: str) -> None:
    """Share a choice's cases among the ways out left, in their old proportions."""
    out = graph.succ[node]
    total = sum(data["flow"].probability or 0.0 for data in out.values())
    if total <= 0:
        return
    for target, data in out.items():
        flow = data["flow"]
        if flow.probability is not None:
            graph.edges[node, target]["flow"] = replace(flow, probability=flow.probability / total)


def move_step(process: Process, step_id: str, offset: int) -> Process:
    """A copy with the step moved ``offset`` places in the step list (flows are unchanged)."""
    _require_step(process, step_id)
    order = list(process.graph)
    index = order.index(step_id)
    new_index = index + offset
    if not 0 <= new_index < len(order):
        where = "first" if offset < 0 else "last"
        raise InvalidInput(f"{process.step(step_id).name!r} is already the {where} step.")
    order.insert(new_index, order.pop(index))
    return _rebuilt(process, order)


# --- flows --------------------------------------------------------------------------------------
def _check_new_flow(process: Process, source: str, target: str) -> None:
    source_step = _require_step(process, source, "source")
    target_step = _require_step(process, target, "target")
    if source == target:
        raise InvalidInput(
            "A step cannot flow to itself; model a repeat as a decision with a rework flow back.",
            "target",
        )
    if source_step.kind is StepKind.END:
        raise InvalidInput(f"{source_step.name!r} is an end step: nothing follows it.", "source")
    if target_step.kind is StepKind.START:
        raise InvalidInput(f"{target_step.name!r} is the start: nothing flows into it.", "target")


def add_flow(process: Process, source: str, target: str, flow: Flow | None = None) -> Process:
    """A copy with a flow from ``source`` to ``target`` (a plain flow by default)."""
    flow = flow or Flow()
    _check_new_flow(process, source, target)
    if process.graph.has_edge(source, target):
        raise InvalidInput(
            f"There is already a flow from {source!r} to {target!r}; edit it instead.", "target"
        )
    _check_flow(flow)
    graph = process.graph.copy()
    graph.add_edge(source, target, flow=flow)
    return process.with_graph(graph)


def delete_flow(process: Process, source: str, target: str) -> Process:
    """A copy without the flow from ``source`` to ``target``."""
    if not process.graph.has_edge(source, target):
        raise InvalidInput(f"There is no flow from {source!r} to {target!r}.")
    graph = process.graph.copy()
    graph.remove_edge(source, target)
    _tidy_single_exits(graph, [source])
    return process.with_graph(graph)


def set_exits(process: Process, source: str, exits: Sequence[tuple[str, Flow]]) -> Process:
    """A copy whose ways out of ``source`` are exactly ``exits`` (target, flow), in order.

    Editing every way out of a decision at once lets an owner move cases from one branch to
    another so the probabilities keep adding up to 1.
    """
    _require_step(process, source, "source")
    targets = [target for target, _ in exits]
    if len(set(targets)) != len(targets):
        raise InvalidInput("Each way out must lead to a different step.", "target")
    for target, flow in exits:
        _check_new_flow(process, source, target)
        _check_flow(flow)
    graph = nx.DiGraph()
    graph.add_nodes_from(process.graph.nodes(data=True))
    written = False
    for u, v, flow in process.flows():
        if u == source:
            if not written:
                graph.add_edges_from((source, t, {"flow": f}) for t, f in exits)
                written = True
            continue
        graph.add_edge(u, v, flow=flow)
    if not written:
        graph.add_edges_from((source, t, {"flow": f}) for t, f in exits)
    return process.with_graph(graph)


# --- lanes --------------------------------------------------------------------------------------
def _check_lane(process: Process, lane: Lane, old_id: str | None) -> None:
    taken = {existing.id for existing in process.lanes} - {old_id}
    _check_id(lane.id, taken, "id", "lane")
    if not lane.name.strip():
        raise InvalidInput("Give the lane a name.", "name")
    _check_number(lane.cost_per_hour, "cost_per_hour", 0, MAX_COST_PER_HOUR)


def add_lane(process: Process, lane: Lane) -> Process:
    """A copy with one more lane (an actor: role, team, system, partner or the customer)."""
    _check_lane(process, lane, None)
    return replace(process, lanes=(*process.lanes, lane), graph=process.graph.copy())


def update_lane(process: Process, lane_id: str, lane: Lane) -> Process:
    """A copy with the lane replaced; steps follow a renamed lane id."""
    if process.lane(lane_id) is None:
        raise InvalidInput(f"There is no lane {lane_id!r} in this process.")
    _check_lane(process, lane, lane_id)
    lanes = tuple(lane if existing.id == lane_id else existing for existing in process.lanes)
    return replace(_relaned(process, lane_id, lane.id), lanes=lanes)


def delete_lane(process: Process, lane_id: str, move_to: str | None = None) -> Process:
    """A copy without the lane; its steps move to lane ``move_to`` (None: no lane)."""
    if process.lane(lane_id) is None:
        raise InvalidInput(f"There is no lane {lane_id!r} in this process.")
    if move_to is not None and (move_to == lane_id or process.lane(move_to) is None):
        raise InvalidInput("Choose another lane of this process for its steps.", "move_to")
    lanes = tuple(existing for existing in process.lanes if existing.id != lane_id)
    return replace(_relaned(process, lane_id, move_to), lanes=lanes)


def _relaned(process: Process, old: str, new: str | None) -> Process:
    graph = process.graph.copy()
    for node, step in process.graph.nodes(data="step"):
        if step.lane == old:
            graph.nodes[node]["step"] = replace(step, lane=new)
    return process.with_graph(graph)


# --- process properties ---------------------------------------------------------------------
def update_properties(
    process: Process,
    *,
    name: str,
    description: str,
    volume: float,
    perspective: Perspective,
) -> Process:
    """A copy with a new name, description, cases per year and perspective."""
    if not name.strip():
        raise InvalidInput("Give the process a name.", "name")
    _check_number(volume, "volume", 0, MAX_CASES)
    return replace(
        process,
        name=name.strip(),
        description=description.strip(),
        volume=float(volume),
        perspective=perspective,
        graph=process.graph.copy(),
    )


# --- comparing two versions -----------------------------------------------------------------
@dataclass(frozen=True)
class AttributeChange:
    attribute: str
    before: object
    after: object

    @property
    def label(self) -> str:
        return ATTRIBUTE_WORDS.get(self.attribute, self.attribute.replace("_", " "))


@dataclass(frozen=True)
class StepChange:
    step_id: str
    name: str
    changes: tuple[AttributeChange, ...]


@dataclass(frozen=True)
class FlowChange:
    source: str
    target: str
    changes: tuple[AttributeChange, ...]


@dataclass(frozen=True)
class ProcessChanges:
    """What differs between two versions of one process, attribute by attribute."""

    properties: tuple[AttributeChange, ...] = ()
    lanes_added: tuple[Lane, ...] = ()
    lanes_removed: tuple[Lane, ...] = ()
    lanes_changed: tuple[tuple[str, tuple[AttributeChange, ...]], ...] = ()
    steps_added: tuple[Step, ...] = ()
    steps_removed: tuple[Step, ...] = ()
    steps_changed: tuple[StepChange, ...] = ()
    flows_added: tuple[tuple[str, str, Flow], ...] = ()
    flows_removed: tuple[tuple[str, str, Flow], ...] = ()
    flows_changed: tuple[FlowChange, ...] = ()
    order_changed: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.properties
            or self.lanes_added
            or self.lanes_removed
            or self.lanes_changed
            or self.steps_added
            or self.steps_removed
            or self.steps_changed
            or self.flows_added
            or self.flows_removed
            or self.flows_changed
            or self.order_changed
        )


def _differences(before: object, after: object, names: Iterable[str]) -> tuple:
    return tuple(
        AttributeChange(name, getattr(before, name), getattr(after, name))
        for name in names
        if getattr(before, name) != getattr(after, name)
    )


def step_differences(old: Step, new: Step) -> tuple[AttributeChange, ...]:
    """The attributes an owner edits that differ between two steps (the id included)."""
    return _differences(old, new, STEP_ATTRIBUTES)


def compare(old: Process, new: Process) -> ProcessChanges:
    """Steps, flows and lanes added, removed and changed from ``old`` to ``new``."""
    properties = _differences(old, new, ("name", "perspective", "volume", "description"))
    old_lanes, new_lanes = old.lane_map(), new.lane_map()
    lane_names = [f.name for f in fields(Lane)]
    old_steps, new_steps = set(old.graph), set(new.graph)
    kept = [node for node in new.graph if node in old_steps]
    old_flows = {(u, v): f for u, v, f in old.flows()}
    new_flows = {(u, v): f for u, v, f in new.flows()}
    return ProcessChanges(
        properties=properties,
        lanes_added=tuple(lane for key, lane in new_lanes.items() if key not in old_lanes),
        lanes_removed=tuple(lane for key, lane in old_lanes.items() if key not in new_lanes),
        lanes_changed=tuple(
            (key, diff)
            for key, lane in new_lanes.items()
            if key in old_lanes and (diff := _differences(old_lanes[key], lane, lane_names))
        ),
        steps_added=tuple(s for s in new.steps() if s.id not in old_steps),
        steps_removed=tuple(s for s in old.steps() if s.id not in new_steps),
        steps_changed=tuple(
            StepChange(node, new.step(node).name, diff)
            for node in kept
            if (diff := _differences(old.step(node), new.step(node), STEP_ATTRIBUTES))
        ),
        flows_added=tuple((u, v, f) for (u, v), f in new_flows.items() if (u, v) not in old_flows),
        flows_removed=tuple(
            (u, v, f) for (u, v), f in old_flows.items() if (u, v) not in new_flows
        ),
        flows_changed=tuple(
            FlowChange(u, v, diff)
            for (u, v), f in new_flows.items()
            if (u, v) in old_flows
            and (diff := _differences(old_flows[u, v], f, ("probability", "rework", "label")))
        ),
        order_changed=[n for n in old.graph if n in new_steps] != kept,
    )
