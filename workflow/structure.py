"""Parallel blocks: which join closes which split, and which steps run on which branch.

Lead time counts a parallel block as its longest branch, and a join fires once per complete set
of branch tokens. Both need blocks that are *well nested*: every branch leaves the split, stays
inside the block and arrives at the join once. The matching join is the first join a walk from
the split reaches once nested blocks are stepped over; every block found is then checked to be
well nested (branches disjoint, entered only from the split, left only into the join), so a
malformed graph is reported rather than guessed at.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import networkx as nx

from workflow.errors import Problem
from workflow.model import Process
from workflow.vocabulary import StepKind

__all__ = ["ParallelBlock", "find_parallel_blocks"]


@dataclass(frozen=True)
class ParallelBlock:
    split: str
    join: str
    #: the steps of each branch, in the order of the split's ways out (empty for a direct flow)
    branches: tuple[frozenset[str], ...]

    @property
    def inner(self) -> frozenset[str]:
        return frozenset().union(*self.branches)


def _branch_region(process: Process, first: str, split: str, join: str) -> set[str]:
    region: set[str] = set()
    if first == join:
        return region
    queue = deque([first])
    region.add(first)
    succ = process.graph.succ
    while queue:
        node = queue.popleft()
        for nxt in succ[node]:
            if nxt != join and nxt != split and nxt not in region:
                region.add(nxt)
                queue.append(nxt)
    return region


def _find_join(
    graph: nx.DiGraph,
    split: str,
    kinds: dict[str, StepKind],
    memo: dict[str, str | None],
    active: set[str],
) -> str | None:
    """The first parallel join reached from ``split``, stepping over nested blocks.

    In a well-nested block every path from the split reaches its join before any other join,
    once inner blocks are skipped; the caller then checks the block really is well nested, so a
    wrong guess on a malformed graph is reported, never trusted.
    """
    if split in memo:
        return memo[split]
    if split in active:
        return None
    active.add(split)
    found = None
    stack = list(graph.succ[split])
    seen: set[str] = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        kind = kinds[node]
        if kind is StepKind.PARALLEL_JOIN:
            found = node
            break
        if kind is StepKind.PARALLEL_SPLIT:
            inner = _find_join(graph, node, kinds, memo, active)
            if inner is not None and inner not in seen:
                seen.add(inner)
                stack.extend(graph.succ[inner])
            continue
        stack.extend(graph.succ[node])
    active.discard(split)
    memo[split] = found
    return found


def find_parallel_blocks(process: Process) -> tuple[list[ParallelBlock], list[Problem]]:
    """Match every parallel split with its join; report any block that is not well nested.

    Assumes the graph already passed the reachability checks (every step lies on a path from
    the start to an end).
    """
    kinds = {s.id: s.kind for s in process.steps()}
    splits = [n for n, k in kinds.items() if k is StepKind.PARALLEL_SPLIT]
    joins = {n for n, k in kinds.items() if k is StepKind.PARALLEL_JOIN}
    if not splits and not joins:
        return [], []
    base = f"processes[{process.id}].steps"
    problems: list[Problem] = []
    blocks: list[ParallelBlock] = []
    memo: dict[str, str | None] = {}
    matched: dict[str, str] = {}
    graph = process.graph
    for split in splits:
        join = _find_join(graph, split, kinds, memo, set())
        where = f"{base}[{split}]"
        if join is None:
            problems.append(
                Problem(
                    where,
                    "parallel split has no matching parallel_join: all its branches must meet "
                    "again at one parallel_join before anything else",
                )
            )
            continue
        if join in matched:
            problems.append(
                Problem(
                    where,
                    f"parallel_join {join!r} already closes split {matched[join]!r}; "
                    "each split needs its own join",
                )
            )
            continue
        matched[join] = split
        regions = [_branch_region(process, first, split, join) for first in graph.succ[split]]
        problem = _check_block(process, split, join, regions)
        if problem:
            problems.append(Problem(where, problem))
            continue
        blocks.append(ParallelBlock(split, join, tuple(frozenset(r) for r in regions)))
    for join in sorted(joins - matched.keys()):
        problems.append(
            Problem(f"{base}[{join}]", "parallel_join does not close any parallel split")
        )
    return blocks, problems


def _check_block(process: Process, split: str, join: str, regions: list[set[str]]) -> str:
    graph = process.graph
    seen: set[str] = set()
    for region in regions:
        if region & seen:
            shared = sorted(region & seen)[0]
            return (
                f"branches of the split meet at {shared!r} before the join {join!r}; "
                "parallel branches must stay apart until their join"
            )
        seen |= region
    if graph.in_degree(join) != len(regions):
        return (
            f"join {join!r} has {graph.in_degree(join)} incoming flows but the split has "
            f"{len(regions)} branches; each branch must reach the join exactly once"
        )
    kinds = process.graph.nodes
    for region in regions:
        into_join = 0
        for node in region:
            if kinds[node]["step"].kind is StepKind.END:
                return (
                    f"a branch can finish the case at {node!r} before the join {join!r}, "
                    "which would then wait for it forever"
                )
            for pred in graph.pred[node]:
                if pred not in region and pred != split:
                    return f"step {node!r} inside the block is entered from outside it ({pred!r})"
            for nxt in graph.succ[node]:
                if nxt == join:
                    into_join += 1
                elif nxt not in region:
                    return f"step {node!r} inside the block leaves it for {nxt!r}"
        if region and into_join != 1:
            return f"a branch reaches join {join!r} by {into_join} flows; it must be exactly one"
    return ""
