"""Rules a process must obey before anything is computed on it.

Every problem names the exact field (a dotted path such as
``processes[kyc].steps[verify].touch_minutes``) and the reason, so the YAML loader, the CLI and
later the web forms can all point a user at what to fix. All problems are collected, not just the
first, because fixing a file one error per run is a miserable experience.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping

import networkx as nx

from workflow.errors import ModelError, Problem
from workflow.model import Process, ProcessModel, Step
from workflow.structure import ParallelBlock, find_parallel_blocks
from workflow.vocabulary import Perspective, StepKind

__all__ = [
    "ID_PATTERN",
    "PROBABILITY_TOLERANCE",
    "check_model",
    "check_process",
    "inspect_process",
    "validate_model",
    "validate_process",
]

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
#: How far the probabilities out of a choice may stray from 1 (files are written by people).
PROBABILITY_TOLERANCE = 0.005
#: Upper bounds that keep every yearly figure finite: about 1,900 years, a trillion cases, and
#: a billion per hour. Anything above is a typing error, not a process.
MAX_MINUTES = 1e9
MAX_CASES = 1e12
MAX_COST_PER_HOUR = 1e9


def _number_problem(value: float, *, low: float, high: float | None = None) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return f"must be a number (got {value!r})"
    if isinstance(value, int) and abs(value) > 10**15:
        return "is far too large"
    if math.isnan(value) or math.isinf(value):
        return f"must be a finite number (got {value!r})"
    if value < low:
        return f"must be at least {low:g} (got {value:g})"
    if high is not None and value > high:
        return f"must be at most {high:,g} (got {value:g})"
    return ""


def _check_step_values(step: Step, where: str) -> Iterable[Problem]:
    checks: list[tuple[str, float, float, float | None]] = [
        ("touch_minutes", step.touch_minutes, 0, MAX_MINUTES),
        ("wait_minutes", step.wait_minutes, 0, MAX_MINUTES),
        ("customer_value", step.customer_value, 0, 5),
        ("business_value", step.business_value, 0, 5),
        ("pct_complete_accurate", step.pct_complete_accurate, 0, 100),
    ]
    if step.volume is not None:
        checks.append(("cases_per_year", step.volume, 0, MAX_CASES))
    for name, value, low, high in checks:
        message = _number_problem(value, low=low, high=high)
        if message:
            yield Problem(f"{where}.{name}", message)
    if step.pct_complete_accurate == 0:
        yield Problem(
            f"{where}.pct_complete_accurate",
            "must be above 0 (no step gets every input wrong)",
        )
    if not step.name.strip():
        yield Problem(f"{where}.name", "must not be empty")
    for i, flag in enumerate(step.flags):
        message = _number_problem(flag.severity, low=1, high=5)
        if message or flag.severity != int(flag.severity):
            yield Problem(
                f"{where}.flags[{i}].severity",
                message or "must be a whole number from 1 to 5",
            )
        if flag.me_too < 0:
            yield Problem(f"{where}.flags[{i}].me_too", f"must be 0 or more (got {flag.me_too})")
    for i, answer in enumerate(step.ces):
        if not 1 <= answer.score <= 7 or answer.score != int(answer.score):
            yield Problem(
                f"{where}.ces[{i}].score",
                f"must be a whole number from 1 to 7 (got {answer.score!r})",
            )


def _check_ids_and_lanes(process: Process, base: str, *, values: bool) -> Iterable[Problem]:
    if not ID_PATTERN.match(process.id):
        yield Problem(
            f"processes[{process.id}].id",
            "must start with a letter or digit and use only letters, digits, '_', '-', '.'",
        )
    message = _number_problem(process.volume, low=0, high=MAX_CASES)
    if message:
        yield Problem(f"{base}.cases_per_year", message)
    lane_ids: set[str] = set()
    for lane in process.lanes:
        where = f"{base}.lanes[{lane.id}]"
        if not ID_PATTERN.match(lane.id):
            yield Problem(f"{where}.id", "is not a valid id (letters, digits, '_', '-', '.')")
        if lane.id in lane_ids:
            yield Problem(f"{where}.id", "is used by two lanes")
        lane_ids.add(lane.id)
        message = _number_problem(lane.cost_per_hour, low=0, high=MAX_COST_PER_HOUR)
        if message:
            yield Problem(f"{where}.cost_per_hour", message)
    for step in process.steps():
        where = f"{base}.steps[{step.id}]"
        if not ID_PATTERN.match(step.id):
            yield Problem(f"{where}.id", "is not a valid id (letters, digits, '_', '-', '.')")
        if not values:
            continue
        if step.lane is not None and step.lane not in lane_ids:
            yield Problem(
                f"{where}.lane",
                f"names lane {step.lane!r}, which this process does not define "
                f"(lanes: {', '.join(sorted(lane_ids)) or 'none'})",
            )
        yield from _check_step_values(step, where)


def _check_shape(
    process: Process, base: str, only: Collection[str] | None = None
) -> Iterable[Problem]:
    graph = process.graph
    steps = dict(graph.nodes(data="step"))
    if only is None:
        indegree = dict(graph.in_degree())
        outdegree = dict(graph.out_degree())
    else:
        indegree = dict(graph.in_degree(only))
        outdegree = dict(graph.out_degree(only))
    starts = [n for n, s in steps.items() if s.kind is StepKind.START]
    if len(starts) != 1:
        yield Problem(
            f"{base}.steps",
            f"must have exactly one step of kind 'start' (found {len(starts)}"
            + (f": {', '.join(starts)})" if starts else ")"),
        )
    if not any(s.kind is StepKind.END for s in steps.values()):
        yield Problem(f"{base}.steps", "must have at least one step of kind 'end'")
    for node in indegree:
        step = steps[node]
        kind, indeg, outdeg = step.kind, indegree[node], outdegree[node]
        if kind is StepKind.START and indeg:
            yield Problem(f"{base}.steps[{node}]", "a start step cannot have incoming flows")
        if kind is StepKind.END and outdeg:
            yield Problem(f"{base}.steps[{node}]", "an end step cannot have outgoing flows")
        if kind is not StepKind.END and not outdeg:
            yield Problem(
                f"{base}.steps[{node}]",
                "has no outgoing flow (only 'end' steps may finish a case)",
            )
        if kind is not StepKind.START and not indeg:
            yield Problem(
                f"{base}.steps[{node}]", "has no incoming flow, so no case ever reaches it"
            )
        if kind is StepKind.PARALLEL_SPLIT and outdeg < 2:
            yield Problem(
                f"{base}.steps[{node}]", "a parallel split needs at least two outgoing flows"
            )
        if kind is StepKind.PARALLEL_JOIN and indeg < 2:
            yield Problem(
                f"{base}.steps[{node}]", "a parallel join needs at least two incoming flows"
            )
    for source, target in nx.selfloop_edges(graph):
        yield Problem(
            f"{base}.flows[{source} -> {target}]",
            "a step cannot flow to itself; model the repeat as a decision with a rework flow",
        )


def _check_probabilities(
    process: Process, base: str, only: Collection[str] | None = None
) -> Iterable[Problem]:
    graph = process.graph
    nodes = graph.nodes
    adjacency = graph.adjacency() if only is None else ((n, graph.adj[n]) for n in only)
    for node, out in adjacency:
        probabilities = [data["flow"].probability for data in out.values()]
        if all(p is None for p in probabilities):
            if len(out) > 1 and nodes[node]["step"].kind is not StepKind.PARALLEL_SPLIT:
                target = next(iter(out))
                yield Problem(
                    f"{base}.flows[{node} -> {target}].probability",
                    f"{node!r} has {len(out)} ways out, so each needs a probability",
                )
            continue
        split = nodes[node]["step"].kind is StepKind.PARALLEL_SPLIT
        for target, probability in zip(out, probabilities, strict=True):
            where = f"{base}.flows[{node} -> {target}].probability"
            if probability is None:
                continue
            message = _number_problem(probability, low=0, high=1)
            if message:
                yield Problem(where, message)
            elif split and probability != 1:
                yield Problem(
                    where,
                    "a parallel split sends every case down every branch; leave the "
                    "probability out",
                )
            elif len(out) == 1 and probability != 1:
                yield Problem(
                    where,
                    f"the only way out of {node!r} carries every case; leave the probability "
                    f"out or set it to 1 (got {probability:g})",
                )
        if len(out) < 2 or split:
            continue
        missing = [t for t, p in zip(out, probabilities, strict=True) if p is None]
        if missing:
            yield Problem(
                f"{base}.flows[{node} -> {missing[0]}].probability",
                f"{node!r} has {len(out)} ways out, so each needs a probability",
            )
            continue
        total = sum(p for p in probabilities if isinstance(p, int | float))
        if abs(total - 1) > PROBABILITY_TOLERANCE:
            yield Problem(
                f"{base}.steps[{node}]",
                f"the probabilities of the flows out of {node!r} add up to {total:.4g}, not 1",
            )


def _check_reachability(
    process: Process, base: str, shares: Mapping[str, list[tuple[str, float]]]
) -> Iterable[Problem]:
    try:
        start = process.start()
    except LookupError:
        return
    reached = {start}
    stack = [start]
    while stack:
        for nxt, _ in shares[stack.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                stack.append(nxt)
    # A case must be able to finish: only flows that really carry cases count here, so a loop
    # whose way out has probability 0 is reported rather than making the flow equations singular.
    live_pred: dict[str, list[str]] = {node: [] for node in shares}
    for node, out in shares.items():
        for nxt, share in out:
            if share > 0:
                live_pred[nxt].append(node)
    finishing = set(process.ends())
    stack = list(finishing)
    while stack:
        for prev in live_pred[stack.pop()]:
            if prev not in finishing:
                finishing.add(prev)
                stack.append(prev)
    for node in shares:
        if node not in reached:
            yield Problem(f"{base}.steps[{node}]", "cannot be reached from the start")
        elif node not in finishing:
            yield Problem(
                f"{base}.steps[{node}]",
                "cannot reach an end: a case that gets here never finishes",
            )


def inspect_process(
    process: Process,
    *,
    values: bool = True,
    shares: Mapping[str, list[tuple[str, float]]] | None = None,
    only: Collection[str] | None = None,
) -> tuple[list[Problem], list[ParallelBlock]]:
    """Problems of one process and, when it has none, its parallel blocks.

    ``values=False`` skips the per-field range checks, and ``only`` limits the per-step checks
    to some steps; the engine uses both on processes it derived from a valid one, where only the
    steps it changed can be wrong locally. Reachability and parallel blocks are always checked
    on the whole process.
    """
    base = f"processes[{process.id}]"
    problems = list(_check_ids_and_lanes(process, base, values=values)) if only is None else []
    problems += _check_shape(process, base, only)
    problems += _check_probabilities(process, base, only)
    if problems:
        return problems, []
    problems += _check_reachability(
        process, base, shares if shares is not None else process.share_table()
    )
    if problems:
        return problems, []
    blocks, block_problems = find_parallel_blocks(process)
    return block_problems, (blocks if not block_problems else [])


def check_process(process: Process) -> list[Problem]:
    """Every problem of one process; an empty list means it can be analysed."""
    return inspect_process(process)[0]


def check_model(model: ProcessModel) -> list[Problem]:
    problems: list[Problem] = []
    if not model.processes:
        problems.append(Problem("processes", "must list at least one process"))
    seen: set[str] = set()
    for process in model.processes:
        if process.id in seen:
            problems.append(Problem(f"processes[{process.id}].id", "is used by two processes"))
        seen.add(process.id)
        problems += check_process(process)
    by_id = {p.id: p for p in model.processes}
    for link in model.links:
        where = f"processes[{link.journey}].steps[{link.journey_step}].served_by"
        journey = by_id.get(link.journey)
        if journey is None or link.journey_step not in journey:
            problems.append(Problem(where, "belongs to a step that does not exist"))
            continue
        if journey.perspective is not Perspective.CUSTOMER_JOURNEY:
            problems.append(
                Problem(where, "only steps of a customer_journey can be served by other steps")
            )
        target = by_id.get(link.process)
        if target is None:
            problems.append(
                Problem(
                    where,
                    f"names process {link.process!r}, which this file does not define "
                    f"(processes: {', '.join(sorted(by_id))})",
                )
            )
        elif link.step not in target:
            problems.append(
                Problem(where, f"names step {link.step!r}, which process {link.process!r} lacks")
            )
        elif target.perspective is not Perspective.EMPLOYEE_PROCESS:
            problems.append(
                Problem(where, f"{link.process!r} must be an employee_process to serve a journey")
            )
    return problems


def validate_process(process: Process, source: str = "") -> Process:
    """Return the process unchanged, or raise :class:`ModelError` listing every problem."""
    problems = check_process(process)
    if problems:
        raise ModelError(problems, source)
    return process


def validate_model(model: ProcessModel, source: str = "") -> ProcessModel:
    problems = check_model(model)
    if problems:
        raise ModelError(problems, source)
    return model
