"""Rearrange: do independent work side by side, and check before working on bad input."""

from __future__ import annotations

import networkx as nx

from workflow.edits import MoveAfter, Parallelize, is_chain
from workflow.rules import Candidate, Category, RuleContext, rule
from workflow.vocabulary import BRANCHING_KINDS

__all__ = ["move_check_earlier", "parallelize_independent"]


def _chains(ctx: RuleContext) -> list[list[str]]:
    """Maximal straight runs of task-like steps."""
    graph = ctx.process.graph
    runs = []
    for node in graph:
        step = ctx.step(node)
        if not step.is_task_like:
            continue
        pred = ctx.only_predecessor(node)
        if pred is not None and ctx.step(pred).is_task_like and is_chain(graph, (pred, node)):
            continue
        run = [node]
        while True:
            nxt = ctx.only_successor(run[-1])
            if nxt is None or not ctx.step(nxt).is_task_like or not is_chain(graph, (run[-1], nxt)):
                break
            if nxt in run:
                break
            run.append(nxt)
        if len(run) >= 2:
            runs.append(run)
    return runs


def _independent_windows(ctx: RuleContext, run: list[str]) -> list[list[str]]:
    """Split a run into windows whose steps need nothing the others in the window produce."""
    windows: list[list[str]] = []
    current: list[str] = []
    for node in run:
        step = ctx.step(node)
        declared = bool(step.inputs)
        produced = {item for other in current for item in ctx.step(other).outputs}
        if declared and not (set(step.inputs) & produced):
            current.append(node)
            continue
        if len(current) >= 2:
            windows.append(current)
        current = [node] if declared else []
    if len(current) >= 2:
        windows.append(current)
    return windows


def _fresh_id(graph: nx.DiGraph, base: str) -> str:
    candidate, n = base, 2
    while candidate in graph:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


@rule(
    "parallelize_independent",
    Category.REARRANGE,
    "Run consecutive steps that do not need each other's results side by side.",
)
def parallelize_independent(ctx: RuleContext) -> list[Candidate]:
    graph = ctx.process.graph
    found = []
    for run in _chains(ctx):
        for window in _independent_windows(ctx, run):
            steps = [ctx.step(n) for n in window]
            if graph.out_degree(window[-1]) != 1 or steps[-1].kind in BRANCHING_KINDS:
                window = window[:-1]
                steps = steps[:-1]
            if len(window) < 2:
                continue
            lanes = {s.lane for s in steps}
            if len(lanes) == 1 and not any(s.wait_minutes for s in steps):
                continue  # one person with no waiting cannot gain by "parallel"
            visits = ctx.visits(window[0])
            durations = [s.duration_minutes for s in steps]
            saved = visits * (sum(durations) - max(durations))
            if saved <= 0:
                continue
            names = ", ".join(f"'{s.name}'" for s in steps)
            split = _fresh_id(graph, f"par_{window[0]}")
            join = _fresh_id(graph, f"join_{window[0]}")
            found.append(
                Candidate(
                    rule="parallelize_independent",
                    targets=tuple(window),
                    title=f"Run {names} in parallel",
                    rationale=(
                        f"{names} run one after another, yet none needs what the others "
                        f"produce (their inputs say so). Side by side the case waits only for "
                        f"the longest ({max(durations):.0f} min) instead of all "
                        f"({sum(durations):.0f} min): {saved:.0f} min less per case."
                    ),
                    evidence=tuple(f"'{s.name}' needs {', '.join(s.inputs)}" for s in steps),
                    edits=(Parallelize(tuple(window), split, join),),
                    risks=(
                        "the steps may depend on each other in ways the model does not record",
                        "work done in parallel is wasted on cases that are later rejected",
                    ),
                    estimate=saved,
                )
            )
    return found


def _returns_to(ctx: RuleContext, first: str, loop_entry: str, rework_source: str) -> bool:
    """Whether a way out of a check runs straight (one way on at every step) back into the loop.

    Only straight runs are followed, so the cost is the length of the run, not of the process.
    """
    node, seen = first, set()
    while node not in seen:
        if node in (loop_entry, rework_source):
            return True
        seen.add(node)
        nxt = ctx.only_successor(node)
        if nxt is None:
            return False
        node = nxt
    return False


def _loop_exits(
    ctx: RuleContext, check: str, loop_entry: str, rework_source: str
) -> tuple[list[str], list[str]]:
    """Ways out of the check that come back to the loop entry, and ways that leave."""
    back, leave = [], []
    for target in ctx.process.graph.succ[check]:
        if _returns_to(ctx, target, loop_entry, rework_source):
            back.append(target)
        else:
            leave.append(target)
    return back, leave


@rule(
    "move_check_earlier",
    Category.REARRANGE,
    "Check input before working on it, so work is not redone when the check sends it back.",
)
def move_check_earlier(ctx: RuleContext) -> list[Candidate]:
    graph = ctx.process.graph
    found = []
    seen: set[tuple[str, ...]] = set()
    for source, entry, flow in ctx.process.flows():
        if not flow.rework:
            continue
        # Walk forward from the loop entry along a straight path to the check.
        path = [entry]
        node = entry
        check = None
        while True:
            nxt = ctx.only_successor(node)
            if nxt is None or nxt in path:
                break
            step = ctx.step(nxt)
            if step.kind in BRANCHING_KINDS and graph.out_degree(nxt) > 1:
                check = nxt
                break
            if not step.is_task_like or not is_chain(graph, (node, nxt)):
                break
            path.append(nxt)
            node = nxt
        if check is None or ctx.only_predecessor(check) != path[-1]:
            continue
        moved = tuple(path[1:])
        if not moved or not is_chain(graph, (*moved, check)):
            continue
        back, leave = _loop_exits(ctx, check, entry, source)
        if not back or len(leave) != 1:
            continue
        check_step = ctx.step(check)
        produced = {item for m in moved for item in ctx.step(m).outputs}
        needs = set(check_step.inputs) & produced
        if needs:
            continue  # the check really needs that work first
        key = (*moved, check)
        if key in seen:
            continue
        seen.add(key)
        (exit_step,) = leave
        visits_check = ctx.visits(check)
        exit_share = dict(ctx.process.branch_shares(check))[exit_step]
        saved = sum(
            (ctx.visits(m) - visits_check * exit_share) * ctx.step(m).duration_minutes
            for m in moved
        )
        if saved <= 0:
            continue
        moved_names = ", ".join(f"'{ctx.step(m).name}'" for m in moved)
        back_share = 1 - exit_share
        risks = ["the check must be able to judge the input without that work"]
        if not check_step.inputs:
            risks.append(
                f"'{check_step.name}' has no inputs recorded: confirm it needs nothing "
                f"{moved_names} produce"
            )
        found.append(
            Candidate(
                rule="move_check_earlier",
                targets=key,
                title=f"Check '{check_step.name}' before {moved_names}",
                rationale=(
                    f"'{check_step.name}' sends {back_share:.0%} of cases back, and every time "
                    f"{moved_names} is done again on input that was not complete. Check first, "
                    f"then do the work once: {saved:.0f} min less per case."
                ),
                evidence=(
                    f"{back_share:.0%} of passes through '{check_step.name}' loop back to "
                    f"'{ctx.step(entry).name}'",
                    *(
                        f"'{ctx.step(m).name}' is done {ctx.visits(m):.2f} times per case"
                        for m in moved
                    ),
                    *ctx.flag_evidence(check_step),
                ),
                edits=(MoveAfter(moved, check, exit_step),),
                risks=tuple(risks),
                estimate=saved,
            )
        )
    return found
