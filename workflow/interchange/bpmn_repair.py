"""Turning a process read from BPMN into one Leanlane can measure.

BPMN allows what Leanlane's rules (``docs/FORMAT.md``) do not: several start events or none,
activities that simply stop, parallel gateways that never join, choices without probabilities.
Each repair here changes as little as possible and says what it did, so the warnings read as a
list of things to check in the imported process:

1. an end event with outgoing flows becomes a task, a start event with incoming flows a wait;
2. one start: several start events (or none) get one new start that leads to each of them;
3. a step no flow leads to is led to from the start; a step with no way out leads to an end;
4. a group of steps the start cannot reach, or that can never finish (a closed loop), is joined
   to the start or to an end;
5. parallel gateways become a split or a join by their flows; a parallel block that does not
   close properly is read as an exclusive choice instead;
6. every choice without probabilities is split evenly (one warning for the whole file).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import networkx as nx

from workflow.interchange.bpmn_names import leanlane_id
from workflow.model import Flow, Lane, Process, Step
from workflow.validate import PROBABILITY_TOLERANCE, inspect_process
from workflow.vocabulary import Perspective, StepKind

__all__ = ["Draft", "repair"]

#: After this many rounds of dropping badly nested parallel gateways one at a time, the rest of
#: a process's parallel gateways are read as choices at once (bounds the work on hostile files).
_PARALLEL_ROUNDS = 5
_STEP_IN_PATH = re.compile(r"\.steps\[([^\]]+)\]")

Warn = Callable[[str], None]


@dataclass
class Draft:
    """A process being read: a graph whose nodes hold a Step and edges a Flow."""

    id: str
    name: str
    perspective: Perspective = Perspective.EMPLOYEE_PROCESS
    lanes: list[Lane] = field(default_factory=list)
    volume: float = 0.0
    description: str = ""
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    step_ids: set[str] = field(default_factory=set)

    def add_step(self, step: Step) -> None:
        self.graph.add_node(step.id, step=step)
        self.step_ids.add(step.id)

    def step(self, step_id: str) -> Step:
        return self.graph.nodes[step_id]["step"]

    def set_step(self, step: Step) -> None:
        self.graph.nodes[step.id]["step"] = step

    def new_step(self, wanted: str, name: str, kind: StepKind, lane: str | None = None) -> str:
        step_id = leanlane_id(wanted, self.step_ids)
        self.graph.add_node(step_id, step=Step(step_id, name, kind, lane=lane))
        return step_id

    def label(self, step_id: str) -> str:
        return f"{self.step(step_id).name!r}" if self.step(step_id).name else repr(step_id)

    def to_process(self) -> Process:
        return Process(
            id=self.id,
            name=self.name,
            graph=self.graph,
            perspective=self.perspective,
            lanes=tuple(self.lanes),
            volume=self.volume,
            description=self.description,
        )


def _kinds(draft: Draft, kind: StepKind) -> list[str]:
    return [n for n, s in draft.graph.nodes(data="step") if s.kind is kind]


def _fix_event_kinds(draft: Draft, warn: Warn) -> None:
    graph = draft.graph
    for node in list(graph):
        step = draft.step(node)
        if step.kind is StepKind.END and graph.out_degree(node):
            draft.set_step(replace(step, kind=StepKind.TASK))
            warn(f"{draft.label(node)} is an end event with outgoing flows; read as a task")
        elif step.kind is StepKind.START and graph.in_degree(node):
            draft.set_step(replace(step, kind=StepKind.WAIT))
            warn(f"{draft.label(node)} is a start event with incoming flows; read as a wait")


def _lane_of(draft: Draft, nodes: list[str]) -> str | None:
    lanes = {draft.step(n).lane for n in nodes}
    return lanes.pop() if len(lanes) == 1 else None


def _one_start(draft: Draft, warn: Warn) -> str:
    graph = draft.graph
    starts = _kinds(draft, StepKind.START)
    if len(starts) == 1:
        return starts[0]
    entries = starts or [n for n in graph if graph.in_degree(n) == 0] or list(graph)[:1]
    start = draft.new_step("start", "Start", StepKind.START, _lane_of(draft, entries))
    for node in entries:
        step = draft.step(node)
        if step.kind is StepKind.START:
            draft.set_step(replace(step, kind=StepKind.WAIT))
        graph.add_edge(start, node, flow=Flow())
    if starts:
        warn(
            f"{len(starts)} start events; a new start leads to each of them "
            f"({', '.join(draft.label(n) for n in starts)}), which are read as waits"
        )
    else:
        warn("no start event; a new start leads to " + ", ".join(draft.label(n) for n in entries))
    return start


def _end(draft: Draft, ends: list[str], lane: str | None) -> str:
    if not ends:
        ends.append(draft.new_step("end", "End", StepKind.END, lane))
    return ends[0]


def _connect_loose_ends(draft: Draft, start: str, warn: Warn) -> None:
    graph = draft.graph
    ends: list[str] = []
    for node in list(graph):
        kind = draft.step(node).kind
        if kind is not StepKind.START and graph.in_degree(node) == 0:
            graph.add_edge(start, node, flow=Flow())
            warn(f"no flow leads to {draft.label(node)}; it is now reached from the start")
    for node in list(graph):
        if node in ends:
            continue
        kind = draft.step(node).kind
        if kind is not StepKind.END and graph.out_degree(node) == 0:
            end = _end(draft, ends, draft.step(node).lane)
            graph.add_edge(node, end, flow=Flow())
            warn(f"{draft.label(node)} has no way out; it now leads to a new end")
    if not _kinds(draft, StepKind.END):
        # Every step has a way out, so the whole process is a loop: leave it after the start.
        first = next(iter(graph.succ[start]))
        end = _end(draft, ends, None)
        graph.add_edge(first, end, flow=Flow())
        warn("no end event; a new end follows " + draft.label(first))
    _reach_everything(draft, start, ends, warn)


def _entries(graph: nx.DiGraph, group: set[str], reverse: bool) -> list[str]:
    """One node of each part of ``group`` that nothing else in the group leads to (or, with
    ``reverse``, that leads nowhere else in the group): linking those links the whole group."""
    sub = graph.subgraph(group)
    if reverse:
        sub = sub.reverse(copy=False)
    condensed = nx.condensation(sub)
    members = condensed.graph["mapping"]
    firsts: dict[int, str] = {}
    for node in graph:  # file order, so the choice is stable
        if node in group:
            firsts.setdefault(members[node], node)
    return [firsts[c] for c in condensed if condensed.in_degree(c) == 0]


def _reach_everything(draft: Draft, start: str, ends: list[str], warn: Warn) -> None:
    graph = draft.graph
    reached = nx.descendants(graph, start) | {start}
    if len(reached) < len(graph):
        for node in _entries(graph, set(graph) - reached, reverse=False):
            graph.add_edge(start, node, flow=Flow())
            warn(f"the start cannot reach {draft.label(node)}; it now leads there too")
    finishing: set[str] = set()
    for end in _kinds(draft, StepKind.END):
        finishing |= nx.ancestors(graph, end) | {end}
    if len(finishing) < len(graph):
        for node in _entries(graph, set(graph) - finishing, reverse=True):
            end = _end(draft, ends, draft.step(node).lane)
            graph.add_edge(node, end, flow=Flow())
            warn(f"{draft.label(node)} is on a loop with no way out; it now also leads to an end")


def _parallel_kinds(draft: Draft, parallel: set[str]) -> None:
    graph = draft.graph
    for node in parallel:
        if node not in graph:
            continue
        step = draft.step(node)
        if graph.out_degree(node) > 1:
            kind = StepKind.PARALLEL_SPLIT
        elif graph.in_degree(node) > 1:
            kind = StepKind.PARALLEL_JOIN
        else:
            kind = StepKind.DECISION
        draft.set_step(replace(step, kind=kind))


def _demote(draft: Draft, nodes: set[str], parallel: set[str], warn: Warn) -> None:
    for node in sorted(nodes):
        step = draft.step(node)
        draft.set_step(replace(step, kind=StepKind.DECISION))
        parallel.discard(node)
        warn(
            f"parallel gateway {draft.label(node)} does not form a closed parallel block "
            "(every branch meeting again at one join); read as an exclusive gateway"
        )


def _probabilities(draft: Draft) -> int:
    """Give every choice probabilities (evenly when none were given); the count split evenly."""
    graph = draft.graph
    evenly = 0
    for node in graph:
        out = graph.succ[node]
        kind = draft.step(node).kind
        if kind is StepKind.PARALLEL_SPLIT or len(out) < 2:
            for target, data in out.items():
                if data["flow"].probability is not None:
                    graph.edges[node, target]["flow"] = replace(data["flow"], probability=None)
            continue
        shares = [data["flow"].probability for data in out.values()]
        given = [p for p in shares if isinstance(p, int | float) and 0 <= p <= 1]
        if len(given) == len(shares) and abs(sum(given) - 1) <= PROBABILITY_TOLERANCE:
            continue
        evenly += 1
        for target, data in out.items():
            graph.edges[node, target]["flow"] = replace(data["flow"], probability=1 / len(out))
    return evenly


def repair(draft: Draft, parallel: set[str], warn: Warn) -> int:
    """Make ``draft`` valid in place, warning about each change; the choices split evenly.

    ``parallel`` names the steps that were parallel gateways in the file; their kind is decided
    here, from the flows they have once the other repairs are done.
    """
    _fix_event_kinds(draft, warn)
    start = _one_start(draft, warn)
    _connect_loose_ends(draft, start, warn)
    _parallel_kinds(draft, parallel)
    evenly = _probabilities(draft)
    for round_ in range(_PARALLEL_ROUNDS + 1):
        problems, _ = inspect_process(draft.to_process(), values=False)
        bad = {m.group(1) for p in problems if (m := _STEP_IN_PATH.search(p.path))} & parallel
        if not bad:
            break
        if round_ == _PARALLEL_ROUNDS:
            bad = set(parallel)
        _demote(draft, bad, parallel, warn)
        _parallel_kinds(draft, parallel)
        evenly = _probabilities(draft)
    return evenly
