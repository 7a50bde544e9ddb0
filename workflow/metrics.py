"""Lean metrics of a process, per case and per year, as expected values.

Expected visits come from the flow equations of an absorbing Markov chain, solved as one sparse
linear system: ``x_v = [v is start] + sum_u x_u * share(u, v)``, where a parallel split passes a
token down every branch (share 1) and a parallel join fires once per complete set (its inflow is
divided by its number of branches). Rework loops are therefore exact (a loop taken with
probability p gives 1/(1-p) passes) and overlapping loops cost nothing extra, unlike path or cycle
enumeration.

Elapsed (lead) time counts each parallel block as its longest branch: blocks are folded
innermost-first into their split step. The longest branch is taken by expected duration, so with
branches whose length varies case by case the analytic figure is a lower bound of the true mean
(the mean of a maximum is at least the maximum of the means); the simulation in
:mod:`workflow.simulate` measures the difference.

Examples
--------
>>> from workflow.model import Process, Step, Flow
>>> from workflow.vocabulary import StepKind
>>> p = Process.build("loop", [
...     Step("s", "Start", StepKind.START), Step("w", "Work", touch_minutes=10),
...     Step("c", "Right?", StepKind.DECISION), Step("e", "End", StepKind.END)],
...     [("s", "w"), ("w", "c"), ("c", "w", Flow(0.5, rework=True)), ("c", "e", Flow(0.5))])
>>> round(compute_metrics(p).visits["w"], 6)
2.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from workflow.model import Process, Step
from workflow.structure import ParallelBlock, find_parallel_blocks
from workflow.vocabulary import STRUCTURAL_KINDS, StepKind, ValueClass

__all__ = ["Metrics", "compute_metrics", "expected_visits", "handoffs_by_flow"]


@dataclass(frozen=True)
class Metrics:
    """Per-case expected figures (minutes) and yearly totals of one process.

    ``touch_minutes`` is all the work a case gets (parallel work added up); ``lead_minutes`` is
    the elapsed time from start to end (parallel blocks count their longest branch), split into
    the touch, value-adding touch and waiting on that critical path. PCE and flow efficiency are
    ratios of the critical path, so both stay between 0 and 1. ``annual_hours`` is staff time;
    time customers spend in customer lanes is ``annual_customer_hours``.
    """

    cases_per_year: float
    step_count: int
    touch_minutes: float
    va_touch_minutes: float
    wait_minutes: float
    lead_minutes: float
    lead_touch_minutes: float
    lead_va_touch_minutes: float
    lead_wait_minutes: float
    pce: float
    flow_efficiency: float
    handoffs: float
    customer_touchpoints: float
    rolled_pct_complete_accurate: float
    rework_passes: float
    rework_touch_minutes: float
    annual_hours: float
    annual_customer_hours: float
    annual_cost: float
    visits: Mapping[str, float]
    first_pass_visits: Mapping[str, float]

    def summary(self) -> dict[str, float]:
        """The headline figures without the per-step maps."""
        data = asdict(self)
        data.pop("visits")
        data.pop("first_pass_visits")
        return data


@dataclass(frozen=True)
class _FlowSystem:
    """The flow equations of a process as sparse-matrix entries, built once and solved for
    both the full visits and the first-pass visits (rework entries masked out)."""

    nodes: list[str]
    start: int
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    rework: np.ndarray  # True where the entry is a rework flow

    @classmethod
    def of(
        cls,
        process: Process,
        shares: Mapping[str, list[tuple[str, float]]],
        rework: set[tuple[str, str]],
    ) -> _FlowSystem:
        graph = process.graph
        nodes = list(shares)
        index = {node: i for i, node in enumerate(nodes)}
        divisor = {
            node: graph.in_degree(node)
            for node, step in graph.nodes(data="step")
            if step.kind is StepKind.PARALLEL_JOIN
        }
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        is_rework: list[bool] = []
        for u, out in shares.items():
            ui = index[u]
            for v, share in out:
                if share == 0:
                    continue
                rows.append(index[v])
                cols.append(ui)
                values.append(share / divisor.get(v, 1))
                is_rework.append((u, v) in rework)
        return cls(
            nodes,
            index[process.start()],
            np.asarray(rows, dtype=np.int64),
            np.asarray(cols, dtype=np.int64),
            np.asarray(values, dtype=float),
            np.asarray(is_rework, dtype=bool),
        )

    def solve(self, *, first_pass: bool = False) -> dict[str, float]:
        n = len(self.nodes)
        values = np.where(self.rework, 0.0, self.values) if first_pass else self.values
        transfer = sp.csc_matrix((values, (self.rows, self.cols)), shape=(n, n))
        system = (sp.identity(n, format="csc") - transfer).tocsc()
        rhs = np.zeros(n)
        rhs[self.start] = 1.0
        solution = np.atleast_1d(spla.spsolve(system, rhs)) if n > 1 else rhs
        return dict(zip(self.nodes, np.maximum(solution, 0.0).tolist(), strict=True))


def expected_visits(
    process: Process,
    *,
    first_pass: bool = False,
    shares: Mapping[str, list[tuple[str, float]]] | None = None,
) -> dict[str, float]:
    """Expected number of times a case visits each step.

    With ``first_pass=True`` a case that takes a rework flow is counted no further, so the
    result is what each step would see if everything were right first time; the difference to
    the full figure is the rework.
    """
    rework = {(u, v) for u, v, flow in process.flows() if flow.rework}
    system = _FlowSystem.of(process, shares or process.share_table(), rework)
    return system.solve(first_pass=first_pass)


def _own_times(step: Step) -> tuple[float, float, float]:
    va = step.touch_minutes if step.value_class is ValueClass.VA else 0.0
    return (step.touch_minutes, va, step.wait_minutes)


def _elapsed(
    process: Process, visits: Mapping[str, float], blocks: list[ParallelBlock]
) -> tuple[float, float, float]:
    """Critical-path (touch, VA touch, wait) per case; blocks fold into their split."""
    effective = {s.id: _own_times(s) for s in process.steps()}
    for block in sorted(blocks, key=lambda b: len(b.inner)):
        base = visits[block.split]
        best = (0.0, 0.0, 0.0)
        if base > 0:
            for region in block.branches:
                total = [0.0, 0.0, 0.0]
                for node in region:
                    weight = visits[node] / base
                    t, va, w = effective[node]
                    total[0] += weight * t
                    total[1] += weight * va
                    total[2] += weight * w
                if total[0] + total[2] > best[0] + best[2]:
                    best = (total[0], total[1], total[2])
        own = effective[block.split]
        effective[block.split] = (own[0] + best[0], own[1] + best[1], own[2] + best[2])
        for node in block.inner:
            effective[node] = (0.0, 0.0, 0.0)
    touch = va = wait = 0.0
    for node, (t, v, w) in effective.items():
        x = visits[node]
        touch += x * t
        va += x * v
        wait += x * w
    return touch, va, wait


def _is_worker(step: Step) -> bool:
    return step.kind not in STRUCTURAL_KINDS and step.lane is not None


def handoffs_by_flow(
    process: Process,
    visits: Mapping[str, float],
    shares: Mapping[str, list[tuple[str, float]]] | None = None,
) -> dict[tuple[str, str], float]:
    """Expected handoffs per case on each flow out of a worker step.

    A handoff is work passing to a step of another lane; start, end and parallel gateways are
    looked through, so a split that fans out to two other teams counts two handoffs.
    """
    if shares is None:
        shares = process.share_table()
    steps = dict(process.graph.nodes(data="step"))
    memo: dict[str, list[tuple[str, float]]] = {}

    def next_workers(node: str, visiting: frozenset[str]) -> list[tuple[str, float]]:
        if node in memo:
            return memo[node]
        found: list[tuple[str, float]] = []
        for target, share in shares[node]:
            step = steps[target]
            if _is_worker(step):
                found.append((target, share))
            elif target not in visiting:
                found += [(w, share * m) for w, m in next_workers(target, visiting | {node})]
        memo[node] = found
        return found

    result: dict[tuple[str, str], float] = {}
    for step in steps.values():
        if not _is_worker(step) or visits.get(step.id, 0.0) == 0:
            continue
        x = visits[step.id]
        for target, share in shares[step.id]:
            if _is_worker(steps[target]):
                receivers = [(target, 1.0)]
            else:
                receivers = next_workers(target, frozenset({step.id}))
            count = sum(m for w, m in receivers if steps[w].lane != step.lane)
            if count:
                result[(step.id, target)] = x * share * count
    return result


def compute_metrics(
    process: Process,
    blocks: list[ParallelBlock] | None = None,
    shares: Mapping[str, list[tuple[str, float]]] | None = None,
) -> Metrics:
    """All metrics of a valid process (see :func:`workflow.validate.validate_process`).

    ``blocks`` and ``shares`` may be passed when the caller already has them.
    """
    if shares is None:
        shares = process.share_table()
    rework = {(u, v) for u, v, flow in process.flows() if flow.rework}
    system = _FlowSystem.of(process, shares, rework)
    visits = system.solve()
    first = system.solve(first_pass=True) if rework else visits
    if blocks is None:
        blocks = find_parallel_blocks(process)[0]
    lead_touch, lead_va, lead_wait = _elapsed(process, visits, blocks)
    touch = va = wait = customer = rework_touch = hours = customer_hours = cost = 0.0
    rolled = 1.0
    cases = process.volume
    lanes = process.lane_map()
    for step in process.steps():
        x = visits[step.id]
        touch += x * step.touch_minutes
        wait += x * step.wait_minutes
        if step.value_class is ValueClass.VA:
            va += x * step.touch_minutes
        rework_touch += (x - first[step.id]) * step.touch_minutes
        lane = lanes.get(step.lane) if step.lane else None
        if lane and lane.is_customer and step.kind not in STRUCTURAL_KINDS:
            customer += x
        if step.pct_complete_accurate < 100:
            rolled *= (step.pct_complete_accurate / 100) ** min(first[step.id], 1.0)
        volume = step.volume if step.volume is not None else cases * x
        step_hours = volume * step.touch_minutes / 60
        if lane and lane.is_customer:
            customer_hours += step_hours
        else:
            hours += step_hours
        cost += step_hours * (lane.cost_per_hour if lane else 0.0)
    rework_passes = sum(
        visits[u] * share for u, out in shares.items() for v, share in out if (u, v) in rework
    )
    lead = lead_touch + lead_wait
    return Metrics(
        cases_per_year=cases,
        step_count=len(process),
        touch_minutes=touch,
        va_touch_minutes=va,
        wait_minutes=wait,
        lead_minutes=lead,
        lead_touch_minutes=lead_touch,
        lead_va_touch_minutes=lead_va,
        lead_wait_minutes=lead_wait,
        pce=lead_va / lead if lead > 0 else 0.0,
        flow_efficiency=lead_touch / lead if lead > 0 else 0.0,
        handoffs=sum(handoffs_by_flow(process, visits, shares).values()),
        customer_touchpoints=customer,
        rolled_pct_complete_accurate=100 * rolled,
        rework_passes=rework_passes,
        rework_touch_minutes=max(0.0, rework_touch),
        annual_hours=hours,
        annual_customer_hours=customer_hours,
        annual_cost=cost,
        visits=visits,
        first_pass_visits=first,
    )
