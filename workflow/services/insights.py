"""Both sides of the coin: what staff and customers say, side by side.

Staff speak through flags on the steps they work in and through the monthly pulse; customers
through flags and Customer Effort Score (CES) answers on the journeys they travel. This module
puts the two next to each other, for an organisation and for one process:

* flags raised per ISO week or calendar month, by source;
* CES per journey and per journey step: mean and % agree (5-7 on the 1-7 scale);
* the steps where the two sides agree: a step with open flags from staff *and* customers,
  either both on the step itself, or customers on a journey step and staff on an employee step
  that serves it (a ``StepLink``, the service blueprint).

Counts are made in SQL where the databases agree on the syntax; dates are put into weeks and
months in Python, since SQLite and PostgreSQL truncate dates differently.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.model import CES_SCALE
from workflow.services import pulse
from workflow.vocabulary import FlagCategory, FlagSource, FlagStatus, Perspective

__all__ = [
    "OPEN_STATUSES",
    "PERIODS_SHOWN",
    "Agreement",
    "CategoryCounts",
    "CesFigures",
    "OrganisationSignals",
    "Period",
    "PeriodFlags",
    "ProcessSignals",
    "ProcessSummary",
    "ServedCes",
    "SourceTotals",
    "StepCes",
    "StepRef",
    "Unit",
    "agreements",
    "ces_figures",
    "flags_over_time",
    "organisation_signals",
    "process_signals",
    "recent_periods",
]

Unit = Literal["week", "month"]
UNITS: tuple[Unit, ...] = ("month", "week")
PERIODS_SHOWN = 12
OPEN_STATUSES = (FlagStatus.NEW.value, FlagStatus.UNDER_REVIEW.value)
STAFF, CUSTOMER = FlagSource.STAFF.value, FlagSource.CUSTOMER.value
#: Answers from this score up on the 1-7 scale agree that it was easy.
CES_AGREE_FROM = 5


# -- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """An ISO week or a calendar month; ``end`` is the first day after it."""

    key: str
    label: str
    short: str
    start: dt.date
    end: dt.date


def _month(year: int, month: int) -> Period:
    start = dt.date(year, month, 1)
    end = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return Period(
        f"{year:04d}-{month:02d}", start.strftime("%B %Y"), start.strftime("%b"), start, end
    )


def _week(monday: dt.date) -> Period:
    year, week, _ = monday.isocalendar()
    return Period(
        f"{year:04d}-W{week:02d}",
        f"Week {week}, {year} (from {monday.strftime('%d %b')})",
        f"W{week}",
        monday,
        monday + dt.timedelta(days=7),
    )


def recent_periods(unit: Unit, today: dt.date, count: int = PERIODS_SHOWN) -> list[Period]:
    """The last ``count`` weeks or months up to and including ``today``'s, oldest first."""
    if unit == "week":
        monday = today - dt.timedelta(days=today.weekday())
        return [_week(monday - dt.timedelta(weeks=back)) for back in range(count - 1, -1, -1)]
    index = today.year * 12 + today.month - 1
    return [_month(i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1)]


def _period_key(unit: Unit, moment: dt.datetime) -> str:
    if unit == "week":
        year, week, _ = moment.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return f"{moment.year:04d}-{moment.month:02d}"


@dataclass(frozen=True)
class PeriodFlags:
    period: Period
    staff: int
    customer: int

    @property
    def total(self) -> int:
        return self.staff + self.customer


def flags_over_time(
    session: Session,
    org_id: int,
    *,
    unit: Unit = "month",
    today: dt.date | None = None,
    process_ids: Sequence[int] | None = None,
) -> list[PeriodFlags]:
    """Flags raised in each of the last weeks or months by source (whatever their status now)."""
    periods = recent_periods(unit, today or dt.date.today())
    query = select(t.Flag.created_at, t.Flag.source).where(
        t.Flag.org_id == org_id,
        t.Flag.created_at >= dt.datetime.combine(periods[0].start, dt.time()),
        t.Flag.created_at < dt.datetime.combine(periods[-1].end, dt.time()),
    )
    if process_ids is not None:
        query = query.where(t.Flag.process_id.in_(list(process_ids)))
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for created_at, source in session.execute(query):
        counts[_period_key(unit, created_at), source] += 1
    return [
        PeriodFlags(period, counts[period.key, STAFF], counts[period.key, CUSTOMER])
        for period in periods
    ]


# -- CES ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CesFigures:
    """CES answers on the 1-7 scale: how many, their mean and how many agree (5-7)."""

    answers: int = 0
    total: int = 0
    agree: int = 0

    @property
    def mean(self) -> float | None:
        return self.total / self.answers if self.answers else None

    @property
    def pct_agree(self) -> float | None:
        return 100.0 * self.agree / self.answers if self.answers else None

    def __add__(self, other: CesFigures) -> CesFigures:
        return CesFigures(
            self.answers + other.answers, self.total + other.total, self.agree + other.agree
        )


def ces_figures(scores: Iterable[int]) -> CesFigures:
    figures = CesFigures()
    for score in scores:
        figures += CesFigures(1, score, int(score >= CES_AGREE_FROM))
    return figures


def _ces_rows(session: Session, org_id: int, process_ids: Sequence[int] | None = None):
    """(process id, step id, answers, sum, agreeing) of CES answers on the 1-7 scale."""
    query = (
        select(
            t.CesAnswer.process_id,
            t.CesAnswer.step_id,
            func.count(),
            func.sum(t.CesAnswer.score),
            func.sum(case((t.CesAnswer.score >= CES_AGREE_FROM, 1), else_=0)),
        )
        .where(t.CesAnswer.org_id == org_id, t.CesAnswer.scale == CES_SCALE)
        .group_by(t.CesAnswer.process_id, t.CesAnswer.step_id)
    )
    if process_ids is not None:
        query = query.where(t.CesAnswer.process_id.in_(list(process_ids)))
    for process_id, step_id, answers, total, agree in session.execute(query):
        yield process_id, step_id, CesFigures(int(answers), int(total or 0), int(agree or 0))


# -- steps and agreement -----------------------------------------------------------------------


class _Steps:
    """Step names and order of current versions, read once per process and request."""

    def __init__(self, session: Session, rows: Iterable[t.Process]) -> None:
        self.session = session
        self.rows = {row.id: row for row in rows}
        self._names: dict[int, dict[str, str]] = {}

    def names(self, process_id: int) -> dict[str, str]:
        """Step id -> name in the current version, in the order of the document."""
        if process_id not in self._names:
            row = self.rows.get(process_id)
            found: dict[str, str] = {}
            if row is not None and row.current_version:
                parsed = repo.parse_document(repo.current_version(self.session, row).document)
                found = {step.id: step.name or step.id for step in parsed.process.steps()}
            self._names[process_id] = found
        return self._names[process_id]

    def exists(self, process_id: int, step_id: str) -> bool:
        return step_id in self.names(process_id)

    def name(self, process_id: int, step_id: str | None, fallback: str = "") -> str:
        if step_id is None:
            return ""
        return self.names(process_id).get(step_id) or fallback or step_id

    def order(self, process_id: int, step_id: str | None) -> int:
        names = list(self.names(process_id))
        return names.index(step_id) if step_id in names else len(names)


@dataclass(frozen=True)
class StepRef:
    """A step of a process with its open flags by source."""

    process_id: int
    process_name: str
    step_id: str
    step_name: str
    staff: int
    customer: int


@dataclass(frozen=True)
class Agreement:
    """A step customers flag that staff flag too: on the step itself or on a serving step."""

    step: StepRef
    #: Employee steps serving ``step`` (service blueprint links) that have open staff flags.
    serving: tuple[StepRef, ...] = ()

    @property
    def direct(self) -> bool:
        return self.step.staff > 0 and self.step.customer > 0

    @property
    def staff(self) -> int:
        return self.step.staff + sum(ref.staff for ref in self.serving)

    @property
    def customer(self) -> int:
        return self.step.customer

    def touches(self, process_id: int) -> bool:
        return self.step.process_id == process_id or any(
            ref.process_id == process_id for ref in self.serving
        )


def _open_flag_counts(session: Session, org_id: int) -> dict[tuple[int, str], dict[str, int]]:
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: {STAFF: 0, CUSTOMER: 0})
    for process_id, step_id, source, number in session.execute(
        select(t.Flag.process_id, t.Flag.step_id, t.Flag.source, func.count())
        .where(t.Flag.org_id == org_id, t.Flag.status.in_(OPEN_STATUSES))
        .group_by(t.Flag.process_id, t.Flag.step_id, t.Flag.source)
    ):
        counts[process_id, step_id][source] = number
    return counts


def agreements(session: Session, org_id: int, steps: _Steps | None = None) -> list[Agreement]:
    """Every step of the organisation where staff and customers both have open flags.

    Only steps still in their process's current version count; the strongest agreement (the
    most open flags on both sides) comes first.
    """
    if steps is None:
        steps = _Steps(session, repo.org_processes(session, org_id))
    counts = _open_flag_counts(session, org_id)
    served_by: dict[tuple[int, str], list[tuple[int, str]]] = defaultdict(list)
    for link in session.scalars(select(t.StepLink).where(t.StepLink.org_id == org_id)):
        served_by[link.journey_id, link.journey_step].append((link.process_id, link.step))

    def ref(process_id: int, step_id: str) -> StepRef:
        row = steps.rows[process_id]
        found = counts.get((process_id, step_id), {STAFF: 0, CUSTOMER: 0})
        return StepRef(
            process_id,
            row.name,
            step_id,
            steps.name(process_id, step_id),
            found[STAFF],
            found[CUSTOMER],
        )

    found: list[Agreement] = []
    for (process_id, step_id), sources in list(counts.items()):
        if not sources[CUSTOMER] or not steps.exists(process_id, step_id):
            continue
        serving = tuple(
            ref(other, other_step)
            for other, other_step in sorted(set(served_by.get((process_id, step_id), ())))
            if counts.get((other, other_step), {}).get(STAFF) and steps.exists(other, other_step)
        )
        if sources[STAFF] or serving:
            found.append(Agreement(ref(process_id, step_id), serving))
    found.sort(
        key=lambda a: (-min(a.staff, a.customer), -(a.staff + a.customer), a.step.process_name)
    )
    return found


# -- totals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceTotals:
    """Flags of one source: open now, and raised in the last 30 days."""

    open: int = 0
    recent: int = 0


def _totals(
    session: Session, org_id: int, today: dt.date, process_ids: Sequence[int] | None = None
) -> dict[str, SourceTotals]:
    since = dt.datetime.combine(today - dt.timedelta(days=30), dt.time())
    query = (
        select(
            t.Flag.source,
            func.sum(case((t.Flag.status.in_(OPEN_STATUSES), 1), else_=0)),
            func.sum(case((t.Flag.created_at >= since, 1), else_=0)),
        )
        .where(t.Flag.org_id == org_id)
        .group_by(t.Flag.source)
    )
    if process_ids is not None:
        query = query.where(t.Flag.process_id.in_(list(process_ids)))
    found = {STAFF: SourceTotals(), CUSTOMER: SourceTotals()}
    for source, open_, recent in session.execute(query):
        found[source] = SourceTotals(int(open_ or 0), int(recent or 0))
    return found


# -- the organisation page ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessSummary:
    """One process's line on the organisation page."""

    process: t.Process
    staff: SourceTotals
    customer: SourceTotals
    ces: CesFigures

    @property
    def is_journey(self) -> bool:
        return self.process.perspective == Perspective.CUSTOMER_JOURNEY.value


@dataclass(frozen=True)
class OrganisationSignals:
    unit: Unit
    timeline: list[PeriodFlags]
    staff: SourceTotals
    customer: SourceTotals
    ces: CesFigures
    processes: list[ProcessSummary]
    agreements: list[Agreement]
    pulse_enabled: bool
    enps: list[pulse.Enps]

    @property
    def journeys(self) -> list[ProcessSummary]:
        return [p for p in self.processes if p.is_journey]

    @property
    def latest_enps(self) -> pulse.Enps | None:
        return next((month for month in self.enps if month.shown), None)


def organisation_signals(
    session: Session, org: t.Organisation, *, unit: Unit = "month", today: dt.date | None = None
) -> OrganisationSignals:
    """Everything the organisation's signals page shows, staff and customers side by side."""
    today = today or dt.date.today()
    rows = repo.org_processes(session, org.id)
    steps = _Steps(session, rows)
    ces_by_process: dict[int, CesFigures] = defaultdict(CesFigures)
    for process_id, _step_id, figures in _ces_rows(session, org.id):
        ces_by_process[process_id] += figures
    per_process: dict[int, dict[str, SourceTotals]] = defaultdict(
        lambda: {STAFF: SourceTotals(), CUSTOMER: SourceTotals()}
    )
    since = dt.datetime.combine(today - dt.timedelta(days=30), dt.time())
    for process_id, source, open_, recent in session.execute(
        select(
            t.Flag.process_id,
            t.Flag.source,
            func.sum(case((t.Flag.status.in_(OPEN_STATUSES), 1), else_=0)),
            func.sum(case((t.Flag.created_at >= since, 1), else_=0)),
        )
        .where(t.Flag.org_id == org.id)
        .group_by(t.Flag.process_id, t.Flag.source)
    ):
        per_process[process_id][source] = SourceTotals(int(open_ or 0), int(recent or 0))
    summaries = [
        ProcessSummary(
            row,
            per_process[row.id][STAFF],
            per_process[row.id][CUSTOMER],
            ces_by_process.get(row.id, CesFigures()),
        )
        for row in rows
    ]
    totals = _totals(session, org.id, today)
    return OrganisationSignals(
        unit=unit,
        timeline=flags_over_time(session, org.id, unit=unit, today=today),
        staff=totals[STAFF],
        customer=totals[CUSTOMER],
        ces=sum(ces_by_process.values(), CesFigures()),
        processes=summaries,
        agreements=agreements(session, org.id, steps),
        pulse_enabled=org.pulse_enabled,
        enps=pulse.enps_history(session, org.id, today=today),
    )


# -- the process page --------------------------------------------------------------------------


@dataclass(frozen=True)
class StepCes:
    """CES answers given on one journey step (``step_id`` None: on the journey as a whole)."""

    process_id: int
    step_id: str | None
    step_name: str
    figures: CesFigures
    present: bool = True


@dataclass(frozen=True)
class ServedCes:
    """CES of a journey step that a step of an employee process serves."""

    journey_id: int
    journey_name: str
    journey_step: str
    journey_step_name: str
    serving_steps: tuple[tuple[str, str], ...]
    figures: CesFigures


@dataclass(frozen=True)
class CategoryCounts:
    category: str
    staff: int
    customer: int

    @property
    def total(self) -> int:
        return self.staff + self.customer


@dataclass(frozen=True)
class ProcessSignals:
    process: t.Process
    unit: Unit
    timeline: list[PeriodFlags]
    staff: SourceTotals
    customer: SourceTotals
    ces: CesFigures
    step_ces: list[StepCes] = field(default_factory=list)
    served_ces: list[ServedCes] = field(default_factory=list)
    categories: list[CategoryCounts] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)

    @property
    def is_journey(self) -> bool:
        return self.process.perspective == Perspective.CUSTOMER_JOURNEY.value


def _categories(session: Session, process: t.Process) -> list[CategoryCounts]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {STAFF: 0, CUSTOMER: 0})
    for category, source, number in session.execute(
        select(t.Flag.category, t.Flag.source, func.count())
        .where(t.Flag.org_id == process.org_id, t.Flag.process_id == process.id)
        .group_by(t.Flag.category, t.Flag.source)
    ):
        counts[category][source] = number
    order = {category.value: index for index, category in enumerate(FlagCategory)}
    found = [CategoryCounts(c, n[STAFF], n[CUSTOMER]) for c, n in counts.items()]
    found.sort(key=lambda c: (-c.total, order.get(c.category, len(order))))
    return found


def _step_ces(session: Session, process: t.Process, steps: _Steps) -> list[StepCes]:
    found = [
        StepCes(
            process.id,
            step_id,
            steps.name(process.id, step_id),
            figures,
            step_id is None or steps.exists(process.id, step_id),
        )
        for _pid, step_id, figures in _ces_rows(session, process.org_id, [process.id])
    ]
    found.sort(key=lambda s: (s.step_id is not None, steps.order(process.id, s.step_id)))
    return found


def _served_ces(session: Session, process: t.Process, steps: _Steps) -> list[ServedCes]:
    serving: dict[tuple[int, str], list[str]] = defaultdict(list)
    for link in session.scalars(
        select(t.StepLink).where(
            t.StepLink.org_id == process.org_id, t.StepLink.process_id == process.id
        )
    ):
        if steps.exists(link.journey_id, link.journey_step):
            serving[link.journey_id, link.journey_step].append(link.step)
    if not serving:
        return []
    figures = {
        (pid, step_id): found
        for pid, step_id, found in _ces_rows(
            session, process.org_id, sorted({pid for pid, _ in serving})
        )
    }
    found = [
        ServedCes(
            journey_id,
            steps.rows[journey_id].name,
            journey_step,
            steps.name(journey_id, journey_step),
            tuple((s, steps.name(process.id, s)) for s in sorted(set(own))),
            figures.get((journey_id, journey_step), CesFigures()),
        )
        for (journey_id, journey_step), own in serving.items()
    ]
    found.sort(key=lambda s: (s.journey_name, steps.order(s.journey_id, s.journey_step)))
    return found


def process_signals(
    session: Session,
    process: t.Process,
    *,
    unit: Unit = "month",
    today: dt.date | None = None,
) -> ProcessSignals:
    """Staff and customer signals of one process, and where they agree."""
    today = today or dt.date.today()
    steps = _Steps(session, repo.org_processes(session, process.org_id))
    totals = _totals(session, process.org_id, today, [process.id])
    is_journey = process.perspective == Perspective.CUSTOMER_JOURNEY.value
    step_ces = _step_ces(session, process, steps)
    served_ces = [] if is_journey else _served_ces(session, process, steps)
    ces_parts = [s.figures for s in step_ces] if is_journey else [s.figures for s in served_ces]
    return ProcessSignals(
        process=process,
        unit=unit,
        timeline=flags_over_time(
            session, process.org_id, unit=unit, today=today, process_ids=[process.id]
        ),
        staff=totals[STAFF],
        customer=totals[CUSTOMER],
        ces=sum(ces_parts, CesFigures()),
        step_ces=step_ces,
        served_ces=served_ces,
        categories=_categories(session, process),
        agreements=[a for a in agreements(session, process.org_id, steps) if a.touches(process.id)],
    )
