"""Combine: fewer queues, fewer handoffs, and data captured once."""

from __future__ import annotations

import networkx as nx

from workflow.edits import MergeChain, RemoveStep, UpdateStep, is_chain
from workflow.model import Step
from workflow.rules import Candidate, Category, RuleContext, rule
from workflow.vocabulary import StepKind, ValueClass

__all__ = ["collapse_pingpong", "combine_adjacent", "merge_duplicate_capture"]


def _mergeable(step: Step) -> bool:
    """Work a person does: waiting is not merged into work, and unowned steps have no lane."""
    return step.is_task_like and step.kind is not StepKind.WAIT and step.lane is not None


@rule(
    "combine_adjacent",
    Category.COMBINE,
    "Merge two neighbouring steps of one lane so the case queues once instead of twice.",
)
def combine_adjacent(ctx: RuleContext) -> list[Candidate]:
    graph = ctx.process.graph
    found = []
    for a, b in graph.edges:
        first, second = ctx.step(a), ctx.step(b)
        if not (_mergeable(first) and _mergeable(second)) or first.lane != second.lane:
            continue
        if not is_chain(graph, (a, b)):
            continue
        saved_wait = min(first.wait_minutes, second.wait_minutes)
        visits = ctx.visits(a)
        if saved_wait <= 0 or visits <= 0:
            continue
        lane = ctx.process.lane(first.lane)
        lane_name = lane.name if lane else first.lane
        found.append(
            Candidate(
                rule="combine_adjacent",
                targets=(a, b),
                title=f"Combine '{first.name}' and '{second.name}'",
                rationale=(
                    f"{lane_name} does '{first.name}' and then '{second.name}', but the case "
                    f"queues twice ({first.wait_minutes:g} and {second.wait_minutes:g} min). "
                    f"Done in one sitting, it queues once: {visits * saved_wait:.0f} min less "
                    "per case."
                ),
                evidence=(
                    f"both steps are done by {lane_name}, one straight after the other",
                    f"waits of {first.wait_minutes:g} and {second.wait_minutes:g} min per pass",
                    *ctx.flag_evidence(first),
                    *ctx.flag_evidence(second),
                ),
                edits=(MergeChain((a, b), f"{first.name} + {second.name}", first.lane),),
                risks=("a longer single task may need a longer uninterrupted slot",),
                estimate=visits * saved_wait,
            )
        )
    return found


@rule(
    "collapse_pingpong",
    Category.COMBINE,
    "Collapse work that goes A -> B -> A between two lanes into one lane doing all three.",
)
def collapse_pingpong(ctx: RuleContext) -> list[Candidate]:
    graph = ctx.process.graph
    found = []
    for b in graph:
        middle = ctx.step(b)
        if not _mergeable(middle) or middle.protected or middle.kind is StepKind.APPROVAL:
            continue
        a, c = ctx.only_predecessor(b), ctx.only_successor(b)
        if a is None or c is None or a == c or not is_chain(graph, (a, b, c)):
            continue
        first, last = ctx.step(a), ctx.step(c)
        if not (_mergeable(first) and _mergeable(last)):
            continue
        if first.lane != last.lane or first.lane == middle.lane:
            continue
        visits = ctx.visits(b)
        if visits <= 0:
            continue
        lanes = ctx.process.lane_map()
        home = lanes[first.lane].name if first.lane in lanes else first.lane
        away = lanes[middle.lane].name if middle.lane in lanes else middle.lane
        waits = [first.wait_minutes, middle.wait_minutes, last.wait_minutes]
        saved = visits * (sum(waits) - max(waits))
        found.append(
            Candidate(
                rule="collapse_pingpong",
                targets=(a, b, c),
                title=f"Stop the ping-pong between {home} and {away}",
                rationale=(
                    f"The case goes from {home} ('{first.name}') to {away} ('{middle.name}') "
                    f"and straight back to {home} ('{last.name}'): two handoffs and three "
                    f"queues. Let {home} do all three in one go: {2 * visits:.2f} fewer handoffs "
                    f"and {saved:.0f} min less per case."
                ),
                evidence=(
                    f"lanes {home} -> {away} -> {home} on a straight path",
                    f"{2 * visits:.2f} handoffs per case on these two flows",
                    *ctx.flag_evidence(middle),
                ),
                edits=(
                    MergeChain(
                        (a, b, c),
                        f"{first.name}, {middle.name.lower()} and {last.name.lower()}",
                        first.lane,
                    ),
                ),
                risks=(
                    f"{home} needs the skills, authority and system access {away} uses for "
                    f"'{middle.name}'",
                ),
                estimate=saved + 2 * visits * 15,
            )
        )
    return found


def _forward_order(ctx: RuleContext) -> list[str]:
    """Steps in an order where every step comes after the steps that can precede it, loops cut."""
    graph = ctx.process.graph
    start = ctx.process.start()
    back: set[tuple[str, str]] = set()
    on_stack: set[str] = set()
    for u, v, kind in nx.dfs_labeled_edges(graph, start):
        if kind == "forward":
            on_stack.add(v)
        elif kind == "reverse":
            on_stack.discard(v)
        elif kind == "nontree" and v in on_stack:
            back.add((u, v))
    dag = nx.DiGraph()
    dag.add_nodes_from(graph)
    dag.add_edges_from(e for e in graph.edges if e not in back)
    return list(nx.topological_sort(dag))


def _journey_captures(ctx: RuleContext) -> dict[str, str]:
    """Data the customer already gave in a journey this process serves: item -> where."""
    captured: dict[str, str] = {}
    journeys = {link.journey for link in ctx.model.links if link.process == ctx.process.id}
    for journey_id in sorted(journeys):
        for step in ctx.model.process(journey_id).steps():
            for item in step.outputs:
                captured.setdefault(item, f"'{step.name}' in the customer journey")
    return captured


@rule(
    "merge_duplicate_capture",
    Category.COMBINE,
    "Capture each piece of data once: reuse what an earlier step (or the customer) recorded.",
)
def merge_duplicate_capture(ctx: RuleContext) -> list[Candidate]:
    if not any(step.outputs for step in ctx.process.steps()):
        return []
    graph = ctx.process.graph
    order = _forward_order(ctx)
    position = {node: i for i, node in enumerate(order)}
    journey = _journey_captures(ctx)
    # Items are bits of an int, so "what was captured upstream" stays cheap on large processes.
    bit: dict[str, int] = {}
    capturers: dict[str, list[str]] = {}
    for node in order:
        for item in ctx.step(node).outputs:
            bit.setdefault(item, 1 << len(bit))
            capturers.setdefault(item, []).append(node)
    journey_bits = sum(bit[item] for item in journey if item in bit)
    upstream: dict[str, int] = {}
    found = []
    for node in order:
        bits = journey_bits
        for pred in graph.pred[node]:
            if pred in upstream:
                bits |= upstream[pred]
        step = ctx.step(node)
        upstream[node] = bits | sum(bit[item] for item in set(step.outputs))
        duplicates = [item for item in step.outputs if bits & bit[item]]
        if not duplicates or not step.is_task_like or step.value_class is ValueClass.VA:
            continue
        sources = set()
        for item in duplicates:
            before = [c for c in capturers[item] if position[c] < position[node]]
            if before:
                sources.add(f"'{ctx.step(before[0]).name}'")
            if item in journey:
                sources.add(journey[item])
        visits = ctx.visits(node)
        if visits <= 0:
            continue
        sources = sorted(sources)
        share = len(duplicates) / len(step.outputs)
        remove = RemoveStep(node)
        if share == 1 and not remove.problem(graph):
            edit: RemoveStep | UpdateStep = remove
            saved = visits * step.duration_minutes
            action = "Remove it and reuse the data already captured"
        else:
            edit = UpdateStep(node, (("touch_minutes", step.touch_minutes * (1 - share)),))
            saved = visits * step.touch_minutes * share
            action = (
                f"Pre-fill the {len(duplicates)} repeated item(s) from the earlier capture and "
                f"keep the rest: {share:.0%} less work"
            )
        found.append(
            Candidate(
                rule="merge_duplicate_capture",
                targets=(node,),
                title=f"Capture once: '{step.name}' re-keys data",
                rationale=(
                    f"'{step.name}' records {', '.join(duplicates)}, which "
                    f"{' and '.join(sources)} already captured. {action}."
                ),
                evidence=(
                    f"re-keyed: {', '.join(duplicates)} (already recorded by {', '.join(sources)})",
                    f"{visits * step.touch_minutes:.0f} min of touch time per case",
                    *ctx.flag_evidence(step),
                ),
                edits=(edit,),
                risks=(
                    "needs the earlier capture to reach this step's system (an integration or "
                    "a shared record)",
                ),
                estimate=saved,
            )
        )
    return found
