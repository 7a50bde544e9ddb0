"""One call from a model to everything a person needs: metrics, scores, proposals.

This is the use case the CLI, the web app and the API share, so all of them show the same
figures for the same file. :meth:`Analysis.to_dict` is the documented JSON shape (see
``docs/CLI.md``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from workflow.errors import ModelError, Problem
from workflow.metrics import Metrics, compute_metrics
from workflow.model import Process, ProcessModel
from workflow.performance import fewer_collections
from workflow.proposals import DEFAULT_LIMIT, Proposal, propose
from workflow.scoring import Score, StepScore, score_model
from workflow.simulate import Simulation, simulate
from workflow.structure import find_parallel_blocks

__all__ = ["SIMULATION_STEP_BUDGET", "Analysis", "ProcessAnalysis", "analyze"]

#: Simulated step visits allowed per process, so huge processes get fewer runs, not a hang.
SIMULATION_STEP_BUDGET = 2_000_000
#: Below this many runs percentiles mean little: the simulation is left out instead.
MIN_SIMULATION_RUNS = 50
#: Expected passes of one step per case beyond which a model is refused as never-ending.
MAX_VISITS_PER_CASE = 1e6


@dataclass(frozen=True)
class ProcessAnalysis:
    process: Process
    metrics: Metrics
    scores: dict[str, StepScore]
    simulation: Simulation | None

    def hotspots(self, count: int | None = None) -> list[StepScore]:
        """Steps by priority, highest first."""
        ranked = sorted(self.scores.values(), key=lambda s: (-s.priority.value, s.step))
        return ranked if count is None else ranked[:count]


def _score_dict(score: Score) -> dict:
    return {
        "value": round(score.value, 2),
        "parts": [
            {"label": p.label, "points": round(p.points, 2), "detail": p.detail}
            for p in score.parts
        ],
    }


@dataclass(frozen=True)
class Analysis:
    model: ProcessModel
    as_of: dt.date
    processes: tuple[ProcessAnalysis, ...]
    proposals: tuple[Proposal, ...]

    def process(self, process_id: str) -> ProcessAnalysis:
        for item in self.processes:
            if item.process.id == process_id:
                return item
        raise KeyError(process_id)

    def proposal(self, proposal_id: str) -> Proposal:
        for proposal in self.proposals:
            if proposal.id == proposal_id:
                return proposal
        raise KeyError(proposal_id)

    def to_dict(self) -> dict:
        processes = []
        for item in self.processes:
            visits = item.metrics.visits
            processes.append(
                {
                    "id": item.process.id,
                    "name": item.process.name,
                    "perspective": item.process.perspective.value,
                    "metrics": item.metrics.summary(),
                    "simulation": item.simulation.summary() if item.simulation else None,
                    "steps": [
                        {
                            "id": s.step,
                            "name": s.name,
                            "lane": item.process.step(s.step).lane,
                            "visits": visits[s.step],
                            "priority": _score_dict(s.priority),
                            "effort": _score_dict(s.effort),
                            "value": _score_dict(s.value),
                            "pain": _score_dict(s.pain),
                            "staff_signals": s.staff_signals,
                            "customer_signals": s.customer_signals,
                            "agreement": s.agreement,
                            "reasons": s.reasons(),
                        }
                        for s in item.hotspots()
                    ],
                }
            )
        return {
            "model": self.model.name,
            "as_of": self.as_of.isoformat(),
            "processes": processes,
            "proposals": [p.to_dict() for p in self.proposals],
        }


def _check_figures(process: Process, metrics: Metrics) -> None:
    """Refuse a model whose figures cannot be trusted: a loop taken so often that a case
    practically never ends makes every per-case figure meaningless."""
    worst = max(metrics.visits, key=metrics.visits.__getitem__)
    visits = metrics.visits[worst]
    summary = metrics.summary().values()
    if visits > MAX_VISITS_PER_CASE or not all(math.isfinite(v) for v in summary):
        raise ModelError(
            [
                Problem(
                    f"processes[{process.id}].steps[{worst}]",
                    f"a case would pass this step about {visits:,.3g} times: a loop whose way "
                    "out is (almost) never taken",
                )
            ]
        )


def analyze(
    model: ProcessModel,
    *,
    as_of: dt.date | None = None,
    limit: int = DEFAULT_LIMIT,
    simulation_runs: int = 2000,
    seed: int = 0,
    rules: Sequence[str] | None = None,
) -> Analysis:
    """Metrics, scores and ranked proposals of a valid model.

    ``simulation_runs=0`` skips the Monte Carlo simulation; otherwise the runs are cut so a
    process uses at most :data:`SIMULATION_STEP_BUDGET` simulated step visits, and left out when
    fewer than :data:`MIN_SIMULATION_RUNS` would fit. Raises :class:`ModelError` when a loop is
    taken so often that a case practically never ends.
    """
    with fewer_collections():
        return _analyze(model, as_of or dt.date.today(), limit, simulation_runs, seed, rules)


def _analyze(
    model: ProcessModel,
    as_of: dt.date,
    limit: int,
    simulation_runs: int,
    seed: int,
    rules: Sequence[str] | None,
) -> Analysis:
    metrics: dict[str, Metrics] = {}
    simulations: dict[str, Simulation | None] = {}
    for process in model.processes:
        blocks = find_parallel_blocks(process)[0]
        metrics[process.id] = compute_metrics(process, blocks)
        _check_figures(process, metrics[process.id])
        simulations[process.id] = None
        per_case = max(1.0, sum(metrics[process.id].visits.values()))
        runs = min(simulation_runs, int(SIMULATION_STEP_BUDGET / per_case))
        if runs >= MIN_SIMULATION_RUNS:
            simulations[process.id] = simulate(process, runs, seed, blocks=blocks)
    scores = score_model(model, metrics, as_of=as_of)
    proposals = propose(model, metrics, scores, as_of=as_of, limit=limit, rules=rules)
    return Analysis(
        model=model,
        as_of=as_of,
        processes=tuple(
            ProcessAnalysis(p, metrics[p.id], scores[p.id], simulations[p.id])
            for p in model.processes
        ),
        proposals=tuple(proposals),
    )
