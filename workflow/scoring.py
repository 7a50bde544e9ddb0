"""Effort, value, pain and priority of every step, each with the parts that make it up.

A score nobody can explain is a score nobody acts on, so every :class:`Score` carries its
:class:`Part` list whose points add up to the score, and :meth:`StepScore.reasons` turns them into
plain sentences. The formulas and a worked example are in ``docs/SCORING.md``.

Pain joins the two sides of the coin: flags on a journey step count (at half weight) on the
employee steps that serve it and the other way round, and a step flagged by staff *and* by
customers gets an agreement boost.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workflow.metrics import Metrics, handoffs_by_flow
from workflow.model import CesAnswer, Flag, Process, ProcessModel, Step
from workflow.vocabulary import STRUCTURAL_KINDS, FlagSource, StepKind, ValueClass

__all__ = [
    "HANDOFF_MINUTES",
    "Part",
    "Score",
    "StepScore",
    "score_model",
    "score_process",
]

#: Coordination effort a handoff costs, in minutes-equivalent (re-reading, queueing, asking back).
HANDOFF_MINUTES = 15.0
#: Customer minutes weigh double: the customer's time is the experience.
CUSTOMER_TIME_WEIGHT = 2.0
#: Flags lose half their weight every this many days.
FLAG_HALF_LIFE_DAYS = 180.0
#: Weight of an undated flag's recency.
UNDATED_RECENCY = 0.5
#: Signals on a linked step (journey <-> serving employee step) count at this weight.
LINKED_WEIGHT = 0.5
#: Pain multiplier where staff and customers both signal the step.
AGREEMENT_BOOST = 1.5
#: Raw pain points at which the pain score reaches 63 (1 - 1/e of 100).
PAIN_SCALE = 12.0
VALUE_CLASS_POINTS = {ValueClass.VA: 60.0, ValueClass.BVA: 35.0, ValueClass.NVA: 0.0, None: 20.0}
PRIORITY_WEIGHTS = {"effort": 0.4, "pain": 0.4, "low value": 0.2}


@dataclass(frozen=True)
class Part:
    label: str
    points: float
    detail: str


@dataclass(frozen=True)
class Score:
    """A 0-100 score and the parts it is made of (their points add up to ``value``)."""

    value: float
    parts: tuple[Part, ...]

    def explain(self) -> str:
        shown = [p for p in self.parts if abs(p.points) >= 0.05]
        inner = " + ".join(f"{p.label} {p.points:.0f}" for p in shown) or "nothing"
        return f"{self.value:.0f} = {inner}"


@dataclass(frozen=True)
class StepScore:
    process: str
    step: str
    name: str
    effort: Score
    value: Score
    pain: Score
    priority: Score
    staff_signals: int
    customer_signals: int

    @property
    def agreement(self) -> bool:
        """Staff and customers both point at this step (directly or through a linked step)."""
        return self.staff_signals > 0 and self.customer_signals > 0

    def reasons(self) -> list[str]:
        """What drives the priority, as short sentences, most important first."""
        parts = [p for s in (self.effort, self.pain) for p in s.parts if p.label != "agreement"]
        ordered = sorted(parts, key=lambda p: -abs(p.points))
        lines = [p.detail for p in ordered if p.detail and abs(p.points) >= 1]
        if self.agreement:
            lines.insert(0, "staff and customers both flag it")
        head = self.value.parts[0] if self.value.parts else None
        if head is not None and head.label in ("class NVA", "class unclassified"):
            lines.append(head.detail)
        lines += [p.detail for p in self.value.parts if p.label == "protected"]
        return lines


def _is_scored(step: Step) -> bool:
    """Working steps get scores; events, parallel gateways and pure routing choices (a decision
    that takes no time and has no signals) have nothing to score."""
    if step.kind in STRUCTURAL_KINDS:
        return False
    if step.kind is StepKind.DECISION and not step.duration_minutes:
        return bool(step.flags or step.ces)
    return True


def _recency(flag: Flag, as_of: dt.date) -> float:
    if flag.date is None:
        return UNDATED_RECENCY
    age = max(0, (as_of - flag.date).days)
    return 0.5 ** (age / FLAG_HALF_LIFE_DAYS)


def _flag_points(flag: Flag, as_of: dt.date) -> float:
    return flag.severity * _recency(flag, as_of) * (1 + math.log2(flag.people))


def _ces_points(answers: Iterable[CesAnswer]) -> float:
    """Each "hard" answer (1-3 on the 7-point scale) adds 3, 2 or 1 points."""
    return float(sum(max(0, 4 - a.score) for a in answers))


def _effort_raw(
    step: Step,
    process: Process,
    metrics: Metrics,
    handoffs_out: Mapping[str, float],
) -> list[tuple[str, float, str]]:
    visits = metrics.visits[step.id]
    first = min(metrics.first_pass_visits[step.id], visits)
    per_pass = step.touch_minutes + step.wait_minutes
    parts = [
        (
            "time",
            first * per_pass,
            f"{first * per_pass:.0f} min per case ({step.touch_minutes:g} touch + "
            f"{step.wait_minutes:g} wait per pass)",
        )
    ]
    if visits - first > 1e-9:
        parts.append(
            (
                "rework",
                (visits - first) * per_pass,
                f"rework adds {visits - first:.2f} passes ({(visits - first) * per_pass:.0f} min "
                "per case)",
            )
        )
    handoffs = handoffs_out.get(step.id, 0.0)
    if handoffs:
        parts.append(
            (
                "handoffs",
                handoffs * HANDOFF_MINUTES,
                f"hands work to another lane {handoffs:.2f} times per case",
            )
        )
    if process.is_customer_step(step) and step.touch_minutes:
        extra = visits * step.touch_minutes * (CUSTOMER_TIME_WEIGHT - 1)
        parts.append(
            (
                "customer time",
                extra,
                f"costs the customer {visits * step.touch_minutes:.0f} min of their own time",
            )
        )
    return parts


def _value_score(step: Step) -> Score:
    base = VALUE_CLASS_POINTS[step.value_class]
    label = step.value_class.value if step.value_class else "unclassified"
    meaning = {
        "VA": "value-adding: the customer would pay for it",
        "BVA": "business value-adding (control or regulation)",
        "NVA": "non-value-adding",
        "unclassified": "value class not set",
    }[label]
    parts = [Part(f"class {label}", base, meaning)]
    if step.customer_value:
        parts.append(
            Part(
                "customer value",
                5.0 * step.customer_value,
                f"customer value {step.customer_value}/5",
            )
        )
    if step.business_value:
        parts.append(
            Part(
                "business value",
                3.0 * step.business_value,
                f"business value {step.business_value}/5",
            )
        )
    total = sum(p.points for p in parts)
    if step.protected:
        parts.append(Part("protected", 0.0, f"required by {step.required_by}"))
    return Score(min(100.0, total), tuple(parts))


@dataclass
class _Signals:
    """Flags and CES answers reaching one step, directly or through links."""

    direct_flags: list[Flag]
    linked_flags: list[Flag]
    direct_ces: list[CesAnswer]
    linked_ces: list[CesAnswer]

    def count(self, source: FlagSource) -> int:
        flags = [f for f in self.direct_flags + self.linked_flags if f.source is source]
        hard_ces = [a for a in self.direct_ces + self.linked_ces if a.score <= 3]
        return len(flags) + (len(hard_ces) if source is FlagSource.CUSTOMER else 0)


def _pain_score(signals: _Signals, as_of: dt.date) -> Score:
    raw: list[tuple[str, float, str]] = []
    for source in FlagSource:
        direct = [f for f in signals.direct_flags if f.source is source]
        if direct:
            points = sum(_flag_points(f, as_of) for f in direct)
            people = sum(f.people for f in direct)
            worst = max(f.severity for f in direct)
            raw.append(
                (
                    f"{source.value} flags",
                    points,
                    f"{len(direct)} open {source.value} flag{'s' if len(direct) > 1 else ''} "
                    f"from {people} {'people' if people > 1 else 'person'} "
                    f"(worst severity {worst}/5)",
                )
            )
        linked = [f for f in signals.linked_flags if f.source is source]
        if linked:
            points = LINKED_WEIGHT * sum(_flag_points(f, as_of) for f in linked)
            raw.append(
                (
                    f"linked {source.value} flags",
                    points,
                    f"{len(linked)} {source.value} flag{'s' if len(linked) > 1 else ''} on "
                    "the linked journey or serving step",
                )
            )
    if signals.direct_ces:
        points = _ces_points(signals.direct_ces)
        mean = sum(a.score for a in signals.direct_ces) / len(signals.direct_ces)
        if points:
            raw.append(
                (
                    "low CES",
                    points,
                    f"customers rate the ease {mean:.1f}/7 ({len(signals.direct_ces)} answers)",
                )
            )
    if signals.linked_ces:
        points = LINKED_WEIGHT * _ces_points(signals.linked_ces)
        if points:
            raw.append(("linked low CES", points, "customers find the journey step it serves hard"))
    base = sum(points for _, points, _ in raw)
    staff = signals.count(FlagSource.STAFF)
    customers = signals.count(FlagSource.CUSTOMER)
    if staff and customers and base:
        raw.append(
            (
                "agreement",
                base * (AGREEMENT_BOOST - 1),
                "staff and customers both flag it",
            )
        )
    total = sum(points for _, points, _ in raw)
    if total <= 0:
        return Score(0.0, ())
    value = 100.0 * (1 - math.exp(-total / PAIN_SCALE))
    factor = value / total
    parts = tuple(Part(label, points * factor, detail) for label, points, detail in raw)
    return Score(value, parts)


def _signals_for(model: ProcessModel | None, process: Process, step: Step) -> _Signals:
    linked_flags: list[Flag] = []
    linked_ces: list[CesAnswer] = []
    if model is not None:
        partners: list[tuple[str, str]] = []
        if process.is_journey:
            partners = [(link.process, link.step) for link in model.served_by(process.id, step.id)]
        else:
            partners = [
                (link.journey, link.journey_step) for link in model.serves(process.id, step.id)
            ]
        for other_process, other_step in partners:
            other = model.process(other_process).step(other_step)
            linked_flags += other.open_flags()
            linked_ces += other.ces
    return _Signals(step.open_flags(), linked_flags, list(step.ces), linked_ces)


def score_process(
    process: Process,
    metrics: Metrics,
    *,
    model: ProcessModel | None = None,
    as_of: dt.date | None = None,
) -> dict[str, StepScore]:
    """Scores of every working step of ``process`` (start, end and parallel gateways have none)."""
    as_of = as_of or dt.date.today()
    handoffs_out: dict[str, float] = {}
    for (source, _), count in handoffs_by_flow(process, metrics.visits).items():
        handoffs_out[source] = handoffs_out.get(source, 0.0) + count
    steps = [s for s in process.steps() if _is_scored(s)]
    efforts = {s.id: _effort_raw(s, process, metrics, handoffs_out) for s in steps}
    largest = max((sum(p for _, p, _ in parts) for parts in efforts.values()), default=0.0)
    result: dict[str, StepScore] = {}
    for step in steps:
        scale = 100.0 / largest if largest > 0 else 0.0
        effort_parts = tuple(
            Part(label, pts * scale, detail) for label, pts, detail in efforts[step.id]
        )
        effort = Score(sum(p.points for p in effort_parts), effort_parts)
        value = _value_score(step)
        signals = _signals_for(model, process, step)
        pain = _pain_score(signals, as_of)
        weights = PRIORITY_WEIGHTS
        priority_parts = (
            Part(
                "effort",
                weights["effort"] * effort.value,
                f"effort {effort.value:.0f} x {weights['effort']:g}",
            ),
            Part(
                "pain", weights["pain"] * pain.value, f"pain {pain.value:.0f} x {weights['pain']:g}"
            ),
            Part(
                "low value",
                weights["low value"] * (100 - value.value),
                f"(100 - value {value.value:.0f}) x {weights['low value']:g}",
            ),
        )
        result[step.id] = StepScore(
            process=process.id,
            step=step.id,
            name=step.name,
            effort=effort,
            value=value,
            pain=pain,
            priority=Score(sum(p.points for p in priority_parts), priority_parts),
            staff_signals=signals.count(FlagSource.STAFF),
            customer_signals=signals.count(FlagSource.CUSTOMER),
        )
    return result


def score_model(
    model: ProcessModel,
    metrics: Mapping[str, Metrics],
    *,
    as_of: dt.date | None = None,
) -> dict[str, dict[str, StepScore]]:
    """Scores of every process of a model, keyed by process id then step id."""
    return {
        process.id: score_process(process, metrics[process.id], model=model, as_of=as_of)
        for process in model.processes
    }
