"""The analysis the review works from: every valid current process of an organisation measured
together (metrics, hotspots, proposals), cached per state of its processes and signals.

Decisions and the review pages both ask it for a proposal by id, so both judge the same
measured proposal. Decisions always judge the exact current state; pages may accept an
analysis whose signals are a few seconds behind (``max_age``), because a steady stream of
customer feedback would otherwise make every dashboard view measure the organisation again.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from workflow import model as engine
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.analysis import Analysis, ProcessAnalysis, analyze
from workflow.errors import ModelError
from workflow.proposals import DEFAULT_LIMIT, Proposal
from workflow.services.analysis_cache import AnalysisCache, OrgState, org_state

__all__ = [
    "EXACT",
    "SIMULATION_RUNS",
    "Freshness",
    "OrgAnalysis",
    "cached_org_analysis",
    "find_proposal",
    "org_analysis",
]

#: Proposals are measured with this many simulated cases: enough for p50/p90, fast on a page.
SIMULATION_RUNS = 500


@dataclass(frozen=True)
class Freshness:
    """How old an analysis a reader accepts when signals arrived after it was measured.

    An analysis of the same processes and links, measured at most ``max_age`` seconds ago and
    not before ``not_before`` (the reader's own last change, in seconds since the epoch, so
    people always see what they just did), is reused. A new version or link is always
    measured at once.
    """

    max_age: float = 0.0
    not_before: float | None = None


#: Only an analysis of exactly the current state: what decisions judge.
EXACT = Freshness()


@dataclass(frozen=True)
class OrgAnalysis:
    """An analysis of the organisation's valid current processes and what it left out."""

    analysis: Analysis | None
    #: Engine process id -> process row id, and back.
    row_ids: dict[str, int]
    keys: dict[int, str]
    #: Row id -> why the process could not be measured (a loop that never ends, ...).
    excluded: dict[int, str]
    #: When it was measured, in seconds since the epoch.
    measured_at: float = field(default_factory=time.time)
    #: False when signals (flags, votes, answers) arrived after it was measured.
    up_to_date: bool = True
    #: Names this measurement, so what is drawn from it can be cached under its name.
    tag: str = field(default_factory=lambda: uuid.uuid4().hex)

    def age(self) -> float:
        """Seconds since it was measured."""
        return max(0.0, time.time() - self.measured_at)

    def usable(self, freshness: Freshness) -> bool:
        """Recent enough for a reader who accepts ``freshness``."""
        return self.age() <= freshness.max_age and (
            freshness.not_before is None or self.measured_at >= freshness.not_before
        )

    def process(self, row_id: int) -> ProcessAnalysis | None:
        key = self.keys.get(row_id)
        if self.analysis is None or key is None:
            return None
        return self.analysis.process(key)

    def proposals(self, row_id: int) -> list[Proposal]:
        key = self.keys.get(row_id)
        if self.analysis is None or key is None:
            return []
        return [p for p in self.analysis.proposals if p.process == key]


def _without(model: engine.ProcessModel, keys: set[str]) -> engine.ProcessModel:
    return engine.ProcessModel(
        name=model.name,
        processes=tuple(p for p in model.processes if p.id not in keys),
        links=tuple(
            link for link in model.links if link.journey not in keys and link.process not in keys
        ),
    )


def _analyse_org(
    session: Session, org: t.Organisation, simulation_runs: int, limit: int
) -> OrgAnalysis:
    model, rows = repo.build_model(session, org)
    row_ids = {key: row.id for key, row in rows.items()}
    excluded: dict[int, str] = {}
    try:
        result = analyze(model, simulation_runs=simulation_runs, limit=limit)
    except ModelError:
        # One process with figures beyond trust must not hide every other dashboard.
        bad: set[str] = set()
        for process in model.processes:
            alone = engine.ProcessModel(name=model.name, processes=(process,))
            try:
                analyze(alone, simulation_runs=0, limit=1)
            except ModelError as exc:
                bad.add(process.id)
                excluded[row_ids[process.id]] = "; ".join(exc.lines())
        try:
            result = analyze(_without(model, bad), simulation_runs=simulation_runs, limit=limit)
        except ModelError as exc:
            result = None
            for key in row_ids:
                excluded.setdefault(row_ids[key], "; ".join(exc.lines()))
    keys = {
        row_id: key
        for key, row_id in row_ids.items()
        if row_id not in excluded and result is not None
    }
    return OrgAnalysis(result, row_ids, keys, excluded)


def _keys(state: OrgState, simulation_runs: int, limit: int) -> tuple[tuple, tuple]:
    """The exact key, and the key of the latest analysis of the same structure."""
    return (
        ("org", state.key, simulation_runs, limit),
        ("org-latest", state.structure, simulation_runs, limit),
    )


def _lookup(
    cache: AnalysisCache,
    state: OrgState,
    simulation_runs: int,
    limit: int,
    freshness: Freshness,
) -> OrgAnalysis | None:
    exact, latest = _keys(state, simulation_runs, limit)
    found = cache.peek(exact)
    if found is not None or freshness.max_age <= 0:
        return found
    recent = cache.peek(latest)
    if recent is not None and recent.usable(freshness):
        return replace(recent, up_to_date=False)
    return None


def cached_org_analysis(
    session: Session,
    org: t.Organisation,
    cache: AnalysisCache,
    *,
    simulation_runs: int = SIMULATION_RUNS,
    limit: int = DEFAULT_LIMIT,
    freshness: Freshness = EXACT,
) -> OrgAnalysis | None:
    """The analysis :func:`org_analysis` would return without measuring, or None."""
    return _lookup(cache, org_state(session, org), simulation_runs, limit, freshness)


def org_analysis(
    session: Session,
    org: t.Organisation,
    cache: AnalysisCache,
    *,
    simulation_runs: int = SIMULATION_RUNS,
    limit: int = DEFAULT_LIMIT,
    freshness: Freshness = EXACT,
) -> OrgAnalysis:
    """The organisation's analysis, computed once per state of its processes and signals, or
    a recent one whose signals are behind when ``freshness`` allows it (then
    ``up_to_date`` is False)."""
    state = org_state(session, org)
    found = _lookup(cache, state, simulation_runs, limit, freshness)
    if found is not None:
        return found
    measured = _analyse_org(session, org, simulation_runs, limit)
    for key in _keys(state, simulation_runs, limit):
        cache.put(key, measured)
    return measured


def find_proposal(
    session: Session,
    org: t.Organisation,
    row: t.Process,
    key: str,
    cache: AnalysisCache,
    simulation_runs: int,
) -> tuple[OrgAnalysis, Proposal | None]:
    """A proposal of the current version: among the best measured ones, else among all.

    The dashboard measures the best candidates only; a proposal accepted earlier may have
    dropped below that cut after flags changed, so every candidate is measured before saying
    it is gone.
    """
    found = org_analysis(session, org, cache, simulation_runs=simulation_runs)
    for proposal in found.proposals(row.id):
        if proposal.id == key:
            return found, proposal
    everything = org_analysis(session, org, cache, simulation_runs=0, limit=0)
    for proposal in everything.proposals(row.id):
        if proposal.id == key:
            return found, proposal
    return found, None
