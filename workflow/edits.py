"""The small set of graph edits every proposal is made of.

Rules *find* opportunities; edits *change* a process. Keeping edits as plain values (not closures
over a graph) lets a proposal be re-applied to a process that other proposals already changed, so
several compatible proposals can be combined, and lets each edit check its own preconditions and
say clearly when it no longer fits. Each edit preserves the invariants the engine promises:
probabilities out of a choice still add up to 1, parallel blocks stay well nested, and the start
still reaches an end (removing a step reconnects its predecessors to its successors).

:func:`apply_edits` copies the process once and never touches its input.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx

from workflow.model import Flow, Process, Step
from workflow.vocabulary import STRUCTURAL_KINDS, StepKind, ValueClass

__all__ = [
    "Edit",
    "EditError",
    "InsertBefore",
    "MergeChain",
    "MoveAfter",
    "Parallelize",
    "RemoveStep",
    "ScaleBranch",
    "UpdateStep",
    "apply_edits",
    "is_chain",
]


class EditError(ValueError):
    """An edit that does not fit the process it is applied to."""


_VALUE_RANK = {ValueClass.VA: 3, ValueClass.BVA: 2, None: 1, ValueClass.NVA: 0}


def _require(graph: nx.DiGraph, *ids: str) -> None:
    for step_id in ids:
        if step_id not in graph:
            raise EditError(f"step {step_id!r} no longer exists")


def _require_chain(graph: nx.DiGraph, steps: Sequence[str]) -> None:
    _require(graph, *steps)
    if len(steps) < 2 or not is_chain(graph, steps):
        raise EditError(f"steps {', '.join(steps)} are no longer a straight chain")


def _step(graph: nx.DiGraph, step_id: str) -> Step:
    return graph.nodes[step_id]["step"]


def _tidy_single_exits(graph: nx.DiGraph, nodes: Iterable[str]) -> None:
    """A single way out carries every case: store no probability on it."""
    for node in nodes:
        if node in graph and graph.out_degree(node) == 1:
            (target,) = graph.succ[node]
            flow = graph.edges[node, target]["flow"]
            if flow.probability is not None:
                graph.edges[node, target]["flow"] = replace(flow, probability=None)


def is_chain(graph: nx.DiGraph, steps: Sequence[str]) -> bool:
    """True when each step's only way out is the next and the next's only way in is it."""
    for first, second in itertools.pairwise(steps):
        if first not in graph or second not in graph:
            return False
        if list(graph.succ[first]) != [second] or list(graph.pred[second]) != [first]:
            return False
    return all(step in graph for step in steps)


@dataclass(frozen=True)
class RemoveStep:
    """Remove a step and route its cases from each predecessor straight to its successors."""

    step: str

    @property
    def touches(self) -> tuple[str, ...]:
        return (self.step,)

    def problem(self, graph: nx.DiGraph) -> str:
        """Why the step cannot be removed here, or "" when it can."""
        if self.step not in graph:
            return f"step {self.step!r} no longer exists"
        step = _step(graph, self.step)
        if step.kind in STRUCTURAL_KINDS or step.kind is StepKind.DECISION:
            return f"step {self.step!r} is a {step.kind.value} and cannot be removed"
        if step.protected:
            return f"step {self.step!r} is required by {step.required_by}"
        if step.value_class is ValueClass.VA:
            return f"step {self.step!r} adds value and is not removed"
        preds = list(graph.pred[self.step])
        succs = list(graph.succ[self.step])
        for pred in preds:
            pred_kind = _step(graph, pred).kind
            for target in succs:
                target_kind = _step(graph, target).kind
                if target == pred:
                    return f"removing {self.step!r} would make {pred!r} flow to itself"
                if pred_kind is StepKind.PARALLEL_SPLIT and len(succs) > 1:
                    return f"{self.step!r} opens a choice right after a parallel split"
                if target_kind is StepKind.PARALLEL_JOIN and len(preds) > 1:
                    return f"{self.step!r} merges paths right before a parallel join"
                if graph.has_edge(pred, target) and (
                    pred_kind is StepKind.PARALLEL_SPLIT or target_kind is StepKind.PARALLEL_JOIN
                ):
                    return f"removing {self.step!r} would merge two parallel branches"
        return ""

    def apply(self, graph: nx.DiGraph, rule: str) -> None:
        problem = self.problem(graph)
        if problem:
            raise EditError(problem)
        process = Process("_", "_", graph)
        outs = process.branch_shares(self.step)
        preds = list(graph.pred[self.step])
        new_edges: list[tuple[str, str, Flow]] = []
        for pred in preds:
            pred_kind = _step(graph, pred).kind
            into = graph.edges[pred, self.step]["flow"]
            base = into.probability if into.probability is not None else 1.0
            for target, share in outs:
                out = graph.edges[self.step, target]["flow"]
                probability = None if pred_kind is StepKind.PARALLEL_SPLIT else base * share
                new_edges.append(
                    (
                        pred,
                        target,
                        Flow(probability, into.rework or out.rework, out.label or into.label),
                    )
                )
        graph.remove_node(self.step)
        for pred, target, flow in new_edges:
            if graph.has_edge(pred, target):
                old = graph.edges[pred, target]["flow"]
                total = None
                if old.probability is not None or flow.probability is not None:
                    total = (old.probability or 0.0) + (flow.probability or 0.0)
                flow = Flow(total, old.rework or flow.rework, old.label or flow.label)
            graph.add_edge(pred, target, flow=flow)
        _tidy_single_exits(graph, preds)


def _merged_step(
    steps: Sequence[Step], name: str, lane: str | None, rule: str, kind: StepKind
) -> Step:
    first = steps[0]
    unique = lambda values: tuple(dict.fromkeys(v for s in values for v in s))  # noqa: E731
    pct = 100.0
    for s in steps:
        pct *= s.pct_complete_accurate / 100
    outputs = unique(s.outputs for s in steps)
    inputs = tuple(i for i in unique(s.inputs for s in steps) if i not in outputs)
    return replace(
        first,
        name=name,
        kind=kind,
        lane=lane,
        touch_minutes=sum(s.touch_minutes for s in steps),
        wait_minutes=max(s.wait_minutes for s in steps),
        volume=None,
        value_class=max((s.value_class for s in steps), key=lambda v: _VALUE_RANK[v]),
        customer_value=max(s.customer_value for s in steps),
        business_value=max(s.business_value for s in steps),
        required_by="; ".join(dict.fromkeys(s.required_by for s in steps if s.required_by)),
        pct_complete_accurate=pct,
        waste=unique(s.waste for s in steps),
        systems=unique(s.systems for s in steps),
        inputs=inputs,
        outputs=outputs,
        flags=tuple(f for s in steps for f in s.flags),
        ces=tuple(a for s in steps for a in s.ces),
        merged_from=unique((*s.merged_from, s.id) for s in steps),
        rule=rule,
    )


@dataclass(frozen=True)
class MergeChain:
    """Merge a straight chain of steps into its first step: one queue, one owner.

    Touch times add up; the merged step waits once, as long as the longest of the waits it
    replaces. The first step's id survives, so links and flags keep pointing somewhere real.
    """

    steps: tuple[str, ...]
    name: str
    lane: str | None

    @property
    def touches(self) -> tuple[str, ...]:
        return self.steps

    def apply(self, graph: nx.DiGraph, rule: str) -> None:
        _require_chain(graph, self.steps)
        steps = [_step(graph, s) for s in self.steps]
        if any(s.kind in STRUCTURAL_KINDS for s in steps):
            raise EditError("start, end and parallel gateways cannot be merged")
        last = self.steps[-1]
        if graph.out_degree(last) > 1:
            kind = steps[-1].kind
        elif len({s.kind for s in steps}) == 1:
            kind = steps[0].kind
        else:
            kind = StepKind.TASK
        exits = [(t, graph.edges[last, t]["flow"]) for t in graph.succ[last]]
        head = self.steps[0]
        graph.nodes[head]["step"] = _merged_step(steps, self.name, self.lane, rule, kind)
        graph.remove_nodes_from(self.steps[1:])
        for target, flow in exits:
            if target == head:
                raise EditError("the chain loops back onto itself")
            graph.add_edge(head, target, flow=flow)


@dataclass(frozen=True)
class Parallelize:
    """Run a straight chain of independent steps side by side between a new split and join."""

    steps: tuple[str, ...]
    split: str
    join: str

    @property
    def touches(self) -> tuple[str, ...]:
        return self.steps

    def apply(self, graph: nx.DiGraph, rule: str) -> None:
        _require_chain(graph, self.steps)
        if self.split in graph or self.join in graph:
            raise EditError(f"step id {self.split!r} or {self.join!r} is already taken")
        first, last = self.steps[0], self.steps[-1]
        if graph.out_degree(last) != 1:
            raise EditError(f"{last!r} must have exactly one way out")
        (after,) = graph.succ[last]
        exit_flow = graph.edges[last, after]["flow"]
        entries = [(p, graph.edges[p, first]["flow"]) for p in graph.pred[first]]
        lane = _step(graph, first).lane
        graph.add_node(
            self.split,
            step=Step(
                self.split, "Start in parallel", StepKind.PARALLEL_SPLIT, lane=lane, rule=rule
            ),
        )
        graph.add_node(
            self.join,
            step=Step(self.join, "All done", StepKind.PARALLEL_JOIN, lane=lane, rule=rule),
        )
        for pred, flow in entries:
            graph.remove_edge(pred, first)
            graph.add_edge(pred, self.split, flow=flow)
        for a, b in zip(self.steps, self.steps[1:], strict=False):
            graph.remove_edge(a, b)
        graph.remove_edge(last, after)
        for step in self.steps:
            graph.add_edge(self.split, step, flow=Flow())
            graph.add_edge(step, self.join, flow=Flow())
        graph.add_edge(self.join, after, flow=exit_flow)


@dataclass(frozen=True)
class MoveAfter:
    """Move a straight chain of work from before a check to after it, on the check's exit.

    Work done before a check that sends cases back is redone on every loop; after the check it
    is done once, on input already known to be complete.
    """

    moved: tuple[str, ...]
    check: str
    exit: str

    @property
    def touches(self) -> tuple[str, ...]:
        return (*self.moved, self.check)

    def apply(self, graph: nx.DiGraph, rule: str) -> None:
        _require(graph, *self.moved, self.check, self.exit)
        chain = (*self.moved, self.check)
        if not is_chain(graph, chain):
            raise EditError("the work before the check is no longer a straight chain")
        first, last = self.moved[0], self.moved[-1]
        if graph.in_degree(first) != 1:
            raise EditError(f"{first!r} must have exactly one way in")
        if not graph.has_edge(self.check, self.exit):
            raise EditError(f"{self.check!r} no longer leads to {self.exit!r}")
        (before,) = graph.pred[first]
        if graph.out_degree(before) != 1:
            raise EditError(f"{before!r} must lead only to {first!r}")
        entry = graph.edges[before, first]["flow"]
        exit_flow = graph.edges[self.check, self.exit]["flow"]
        graph.remove_edge(before, first)
        graph.remove_edge(last, self.check)
        graph.remove_edge(self.check, self.exit)
        graph.add_edge(before, self.check, flow=entry)
        graph.add_edge(self.check, first, flow=exit_flow)
        graph.add_edge(last, self.exit, flow=Flow(label=exit_flow.label))
        _tidy_single_exits(graph, [last])
        for step_id in self.moved:
            graph.nodes[step_id]["step"] = replace(_step(graph, step_id), rule=rule)


@dataclass(frozen=True)
class UpdateStep:
    """Change some attributes of one step (times, kind, %C&A ...)."""

    step: str
    changes: tuple[tuple[str, Any], ...]

    @property
    def touches(self) -> tuple[str, ...]:
        return (self.step,)

    def apply(self, graph: nx.DiGraph, rule: str) -> None:
        _require(graph, self.step)
        graph.nodes[self.step]["step"] = replace(
            _step(graph, self.step), **dict(self.changes), rule=rule
        )


@dataclass(frozen=True)
class ScaleBranch:
    """Make one way out of a choice rarer (factor < 1); the other ways out share the rest."""

    source: str
    target: str
    factor: float

    @property
    def touches(self) -> tuple[str, ...]:
        return (self.source,)

    def apply(self, graph: nx.DiGraph, rule: str) -> None:
        _require(graph, self.source, self.target)
        if not graph.has_edge(self.source, self.target):
            raise EditError(f"{self.source!r} no longer leads to {self.target!r}")
        process = Process("_", "_", graph)
        shares = dict(process.branch_shares(self.source))
        old = shares[self.target]
        rest = 1.0 - old
        if len(shares) < 2 or rest <= 0:
            raise EditError(f"{self.source!r} has no other way out to take the cases")
        new = old * self.factor
        for target, share in shares.items():
            probability = new if target == self.target else share * (1.0 - new) / rest
            flow = graph.edges[self.source, target]["flow"]
            graph.edges[self.source, target]["flow"] = replace(flow, probability=probability)


@dataclass(frozen=True)
class InsertBefore:
    """Insert a new step in front of an existing one; every way in now passes the new step."""

    new: Step
    before: str

    @property
    def touches(self) -> tuple[str, ...]:
        return (self.before,)

    def apply(self, graph: nx.DiGraph, rule: str) -> None:
        _require(graph, self.before)
        if self.new.id in graph:
            raise EditError(f"step id {self.new.id!r} is already taken")
        kind = _step(graph, self.before).kind
        if kind in (StepKind.START, StepKind.PARALLEL_JOIN):
            raise EditError(f"nothing can be inserted before a {kind.value}")
        entries = [(p, graph.edges[p, self.before]["flow"]) for p in graph.pred[self.before]]
        graph.add_node(self.new.id, step=replace(self.new, rule=rule))
        for pred, flow in entries:
            graph.remove_edge(pred, self.before)
            graph.add_edge(pred, self.new.id, flow=flow)
        graph.add_edge(self.new.id, self.before, flow=Flow())


Edit = RemoveStep | MergeChain | Parallelize | MoveAfter | UpdateStep | ScaleBranch | InsertBefore


def apply_edits(process: Process, edits: Iterable[tuple[Edit, str]]) -> Process:
    """A new process with each ``(edit, rule)`` applied in order; the input is left untouched."""
    graph = process.graph.copy()
    for edit, rule in edits:
        edit.apply(graph, rule)
    return process.with_graph(graph)
