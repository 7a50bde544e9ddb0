"""Proposals: rule candidates measured, ranked and combinable.

Every candidate a rule finds is applied to a copy of its process and measured with the same
metrics as the original, so before/after figures are computed, never guessed. On very large
processes the rules may find thousands of candidates; the ``limit`` best by the rule's own
estimate (time saved and pain relieved) are measured, which keeps analysis fast while the ranked
list a person reads stays complete at the top.

Proposals whose target steps do not overlap are compatible and can be applied together; the
edits are re-applied in rank order to the evolving process, so each sees the changes of the
ones before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from workflow.edits import EditError, apply_edits
from workflow.errors import ModelError
from workflow.metrics import Metrics, compute_metrics
from workflow.model import Link, Process, ProcessModel
from workflow.rules import CATEGORY_ORDER, RULES, Candidate, Category, RuleContext, rules_in_order
from workflow.scoring import StepScore
from workflow.validate import check_process, inspect_process

__all__ = [
    "DEFAULT_LIMIT",
    "Proposal",
    "ProposalConflict",
    "apply_proposals",
    "apply_to_model",
    "choose_compatible",
    "conflicts",
    "propose",
]

#: How many candidates per process are measured in full.
DEFAULT_LIMIT = 15
#: Steps x candidates measured per process at most: very large processes get fewer (never
#: below :data:`MIN_MEASURED`) so analysis time grows with the process, not its square.
MEASURE_BUDGET = 250_000
MIN_MEASURED = 10
RANK_WEIGHTS = {"hours": 0.4, "lead": 0.3, "pain": 0.3}
#: Rules whose finding another rule may explain better (e.g. an NVA step that re-keys data).
GENERIC_RULES = frozenset({"eliminate_nva"})


class ProposalConflict(ValueError):
    """Proposals that cannot be applied together."""


@dataclass(frozen=True)
class Proposal:
    id: str
    rule: str
    category: Category
    process: str
    targets: tuple[str, ...]
    title: str
    rationale: str
    evidence: tuple[str, ...]
    risks: tuple[str, ...]
    lanes_affected: tuple[str, ...]
    pain_relieved: float
    edits: tuple = field(repr=False)
    proposed: Process = field(repr=False)
    before: Metrics = field(repr=False)
    after: Metrics = field(repr=False)
    rank: int = 0
    score: float = 0.0

    @property
    def hours_saved_per_year(self) -> float:
        return self.before.annual_hours - self.after.annual_hours

    @property
    def cost_saved_per_year(self) -> float:
        return self.before.annual_cost - self.after.annual_cost

    @property
    def lead_minutes_saved(self) -> float:
        return self.before.lead_minutes - self.after.lead_minutes

    @property
    def handoffs_saved(self) -> float:
        return self.before.handoffs - self.after.handoffs

    def to_dict(self) -> dict:
        keys = (
            "lead_minutes",
            "touch_minutes",
            "pce",
            "flow_efficiency",
            "handoffs",
            "customer_touchpoints",
            "rolled_pct_complete_accurate",
            "rework_passes",
            "annual_hours",
            "annual_customer_hours",
            "annual_cost",
        )
        before, after = self.before.summary(), self.after.summary()
        return {
            "id": self.id,
            "rank": self.rank,
            "score": round(self.score, 4),
            "rule": self.rule,
            "category": self.category.value,
            "process": self.process,
            "targets": list(self.targets),
            "title": self.title,
            "rationale": self.rationale,
            "evidence": list(self.evidence),
            "risks": list(self.risks),
            "lanes_affected": list(self.lanes_affected),
            "pain_relieved": round(self.pain_relieved, 2),
            "savings": {
                "hours_per_year": self.hours_saved_per_year,
                "cost_per_year": self.cost_saved_per_year,
                "lead_minutes": self.lead_minutes_saved,
                "handoffs": self.handoffs_saved,
            },
            "before": {k: before[k] for k in keys},
            "after": {k: after[k] for k in keys},
        }


def _lanes_affected(
    process: Process, proposed: Process, targets: Iterable[str], area: Iterable[str]
) -> tuple[str, ...]:
    """Lanes of the steps a proposal removes, changes or adds."""
    lanes = {process.step(t).lane for t in targets if t in process}
    for step_id in area:
        step = proposed.step(step_id)
        if step_id not in process or process.step(step_id) is not step:
            lanes.add(step.lane)
    return tuple(sorted(lane for lane in lanes if lane))


def _changed_area(original: Process, proposed: Process, candidate: Candidate) -> set[str]:
    """Steps of ``proposed`` whose flows or attributes an edit may have changed."""
    touched = {step for edit in candidate.edits for step in edit.touches}
    area = set(touched)
    for step in touched:
        if step in original:
            area.update(original.graph.pred[step])
            area.update(original.graph.succ[step])
    area.update(node for node in proposed.graph if node not in original.graph)
    area &= proposed.graph.nodes.keys()
    for step in list(area):
        area.update(proposed.graph.pred[step])
        area.update(proposed.graph.succ[step])
    return area


def _measure(
    candidate: Candidate,
    process: Process,
    before: Metrics,
    scores: Mapping[str, StepScore],
) -> Proposal | None:
    try:
        proposed = apply_edits(process, [(edit, candidate.rule) for edit in candidate.edits])
    except EditError:
        return None
    shares = proposed.share_table()
    area = _changed_area(process, proposed, candidate)
    problems, blocks = inspect_process(proposed, values=False, shares=shares, only=area)
    if problems:
        return None
    after = compute_metrics(proposed, blocks, shares)
    pain = sum(scores[t].pain.value for t in candidate.targets if t in scores)
    return Proposal(
        id=f"{process.id}.{candidate.rule}.{candidate.targets[0]}",
        rule=candidate.rule,
        category=RULES[candidate.rule].category,
        process=process.id,
        targets=candidate.targets,
        title=candidate.title,
        rationale=candidate.rationale,
        evidence=candidate.evidence,
        risks=candidate.risks,
        lanes_affected=_lanes_affected(process, proposed, candidate.targets, area),
        pain_relieved=pain,
        edits=candidate.edits,
        proposed=proposed,
        before=before,
        after=after,
    )


def _preselect(
    candidates: list[Candidate], scores: Mapping[str, StepScore], limit: int
) -> list[Candidate]:
    if len(candidates) <= limit:
        return candidates
    top_estimate = max((c.estimate for c in candidates), default=0.0) or 1.0

    def pain(c: Candidate) -> float:
        return sum(scores[t].pain.value for t in c.targets if t in scores)

    top_pain = max((pain(c) for c in candidates), default=0.0) or 1.0
    return sorted(
        candidates,
        key=lambda c: -(c.estimate / top_estimate + pain(c) / top_pain),
    )[:limit]


def propose_for_process(
    model: ProcessModel,
    process: Process,
    metrics: Metrics,
    scores: dict[str, StepScore],
    *,
    as_of: dt.date,
    limit: int = DEFAULT_LIMIT,
    rules: Sequence[str] | None = None,
) -> list[Proposal]:
    """Measured proposals for one process (unranked)."""
    context = RuleContext(model, process, metrics, scores, as_of)
    by_change: dict[tuple, Candidate] = {}
    for registered in rules_in_order():
        if rules is not None and registered.name not in rules:
            continue
        for candidate in registered.find(context):
            # Two rules proposing the very same change: keep the more specific explanation.
            key = candidate.edits
            kept = by_change.get(key)
            if kept is None or (kept.rule in GENERIC_RULES and candidate.rule not in GENERIC_RULES):
                by_change[key] = candidate
    candidates = list(by_change.values())
    if limit > 0:
        limit = min(limit, max(MIN_MEASURED, MEASURE_BUDGET // max(1, len(process))))
    chosen = _preselect(candidates, scores, limit) if limit > 0 else candidates
    proposals = []
    used_ids: set[str] = set()
    for candidate in chosen:
        proposal = _measure(candidate, process, metrics, scores)
        if proposal is None:
            continue
        unique, n = proposal.id, 2
        while unique in used_ids:
            unique, n = f"{proposal.id}-{n}", n + 1
        used_ids.add(unique)
        proposals.append(replace(proposal, id=unique) if unique != proposal.id else proposal)
    return proposals


def rank(proposals: Sequence[Proposal]) -> list[Proposal]:
    """Best first: hours saved, lead time saved and pain relieved, relative to the best of each;
    ECRS order breaks ties."""

    def top(values: Iterable[float]) -> float:
        return max((v for v in values if v > 0), default=0.0) or 1.0

    top_hours = top(p.hours_saved_per_year for p in proposals)
    top_lead = top(p.lead_minutes_saved for p in proposals)
    top_pain = top(p.pain_relieved for p in proposals)
    scored = []
    for p in proposals:
        score = (
            RANK_WEIGHTS["hours"] * max(0.0, p.hours_saved_per_year) / top_hours
            + RANK_WEIGHTS["lead"] * max(0.0, p.lead_minutes_saved) / top_lead
            + RANK_WEIGHTS["pain"] * p.pain_relieved / top_pain
        )
        scored.append(replace(p, score=score))
    scored.sort(key=lambda p: (-round(p.score, 9), CATEGORY_ORDER[p.category], p.id))
    return [replace(p, rank=i) for i, p in enumerate(scored, start=1)]


def propose(
    model: ProcessModel,
    metrics: Mapping[str, Metrics],
    scores: Mapping[str, dict[str, StepScore]],
    *,
    as_of: dt.date | None = None,
    limit: int = DEFAULT_LIMIT,
    rules: Sequence[str] | None = None,
) -> list[Proposal]:
    """Ranked proposals for every process of a model."""
    as_of = as_of or dt.date.today()
    found: list[Proposal] = []
    for process in model.processes:
        found += propose_for_process(
            model,
            process,
            metrics[process.id],
            scores[process.id],
            as_of=as_of,
            limit=limit,
            rules=rules,
        )
    return rank(found)


def conflicts(proposals: Sequence[Proposal]) -> list[tuple[Proposal, Proposal]]:
    """Pairs of proposals that change the same step of the same process."""
    clashes = []
    for i, first in enumerate(proposals):
        for second in proposals[i + 1 :]:
            if first.process == second.process and set(first.targets) & set(second.targets):
                clashes.append((first, second))
    return clashes


def choose_compatible(
    model: ProcessModel, proposals: Sequence[Proposal]
) -> tuple[list[Proposal], list[Proposal]]:
    """The proposals that can be applied together, best first, and the ones left out.

    Sharing no step is not enough (removing a step can change what its neighbour may become),
    so each proposal is tried on the process as the better ones already changed it.
    """
    chosen: list[Proposal] = []
    skipped: list[Proposal] = []
    current: dict[str, Process] = {}
    for proposal in sorted(proposals, key=lambda p: (p.rank or 10**9, p.id)):
        if conflicts([*chosen, proposal]):
            skipped.append(proposal)
            continue
        try:
            base = current.get(proposal.process) or model.process(proposal.process)
            trial = apply_edits(base, [(edit, proposal.rule) for edit in proposal.edits])
        except (EditError, KeyError):
            skipped.append(proposal)
            continue
        if inspect_process(trial, values=False)[0]:
            skipped.append(proposal)
            continue
        current[proposal.process] = trial
        chosen.append(proposal)
    return chosen, skipped


def apply_proposals(process: Process, proposals: Sequence[Proposal]) -> Process:
    """One process with every given proposal applied, in rank order."""
    if not proposals:
        return process
    foreign = [p.id for p in proposals if p.process != process.id]
    if foreign:
        raise ProposalConflict(f"proposal {foreign[0]} belongs to another process")
    clashes = conflicts(proposals)
    if clashes:
        a, b = clashes[0]
        shared = ", ".join(sorted(set(a.targets) & set(b.targets)))
        raise ProposalConflict(
            f"proposals {a.id} and {b.id} both change step(s) {shared}; choose one"
        )
    ordered = sorted(proposals, key=lambda p: (p.rank or 10**9, p.id))
    try:
        result = apply_edits(process, [(e, p.rule) for p in ordered for e in p.edits])
    except EditError as exc:
        raise ProposalConflict(f"the proposals do not combine: {exc}") from None
    problems = check_process(result)
    if problems:
        raise ModelError(problems, f"process {process.id} after the proposals")
    return result


def _repair_links(links: Iterable[Link], model: ProcessModel) -> tuple[Link, ...]:
    """Point links at the step a linked step was merged into; drop links to removed steps."""

    def resolve(process_id: str, step_id: str) -> str | None:
        process = model.process(process_id)
        if step_id in process:
            return step_id
        for step in process.steps():
            if step_id in step.merged_from:
                return step.id
        return None

    repaired: dict[Link, None] = {}
    for link in links:
        journey_step = resolve(link.journey, link.journey_step)
        step = resolve(link.process, link.step)
        if journey_step and step:
            repaired[Link(link.journey, journey_step, link.process, step)] = None
    return tuple(repaired)


def apply_to_model(model: ProcessModel, proposals: Sequence[Proposal]) -> ProcessModel:
    """The model with the proposals applied to their processes and links kept consistent."""
    result = model
    by_process: dict[str, list[Proposal]] = {}
    for proposal in proposals:
        by_process.setdefault(proposal.process, []).append(proposal)
    for process_id, chosen in by_process.items():
        try:
            process = model.process(process_id)
        except KeyError:
            raise ProposalConflict(f"proposal {chosen[0].id} names an unknown process") from None
        result = result.replace_process(apply_proposals(process, chosen))
    return replace(result, links=_repair_links(model.links, result))
