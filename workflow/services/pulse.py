"""The staff pulse: "How likely are you to recommend working here?" on a 0-10 scale, monthly.

Anonymous by design. Who answered in a month (``PulseParticipation``, so nobody answers twice)
and what was answered (``PulseAnswer``, a score without a user id) are kept in two tables that
share nothing but the organisation and the month, and are never joined. Two more measures keep
an answer from being traced back to a person:

* an answer's row gets a random id and the first day of its month as its date, so neither the
  order of the rows nor their timestamps line up with the participation list;
* results are shown only for months that are over and only when at least
  :data:`MIN_ANSWERS` people answered, so nobody can work out a colleague's score by watching
  the figure move or by reading a result made of two or three answers.

eNPS = % promoters (9-10) - % detractors (0-6), from -100 to +100.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.adapters import tables as t
from workflow.services.errors import Forbidden, InvalidInput

__all__ = [
    "HISTORY_MONTHS",
    "MIN_ANSWERS",
    "PULSE_QUESTION",
    "PULSE_SCALE",
    "Enps",
    "PulseOverview",
    "answer_pulse",
    "enps_history",
    "has_answered",
    "month_label",
    "overview",
    "period_of",
]

PULSE_SCALE = "enps-0-10"
PULSE_QUESTION = "How likely are you to recommend working here?"
#: Below this many answers in a month its figures are not shown.
MIN_ANSWERS = 5
HISTORY_MONTHS = 12
_MAX_ID = 2**31 - 1


def period_of(day: dt.date) -> str:
    """The pulse period of a day: its calendar month, ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def month_label(period: str) -> str:
    """``2026-11`` -> ``November 2026``."""
    year, month = (int(part) for part in period.split("-"))
    return dt.date(year, month, 1).strftime("%B %Y")


def _month_start(period: str) -> dt.datetime:
    year, month = (int(part) for part in period.split("-"))
    return dt.datetime(year, month, 1)


def _previous_periods(period: str, count: int) -> list[str]:
    """The ``count`` months before ``period``, newest first."""
    year, month = (int(part) for part in period.split("-"))
    found = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        found.append(f"{year:04d}-{month:02d}")
    return found


@dataclass(frozen=True)
class Enps:
    """One month's answers. ``score`` is None while too few people answered to show it."""

    period: str
    answers: int
    promoters: int
    passives: int
    detractors: int

    @property
    def label(self) -> str:
        return month_label(self.period)

    @property
    def shown(self) -> bool:
        return self.answers >= MIN_ANSWERS

    @property
    def score(self) -> float | None:
        if not self.shown:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.answers

    @property
    def promoter_pct(self) -> float | None:
        return 100.0 * self.promoters / self.answers if self.shown else None

    @property
    def detractor_pct(self) -> float | None:
        return 100.0 * self.detractors / self.answers if self.shown else None


@dataclass(frozen=True)
class PulseOverview:
    """What the pulse page shows one user."""

    enabled: bool
    period: str
    answered: bool
    #: How many have answered this month so far (no scores until the month is over).
    answers_so_far: int
    #: Closed months, newest first.
    history: tuple[Enps, ...]

    @property
    def period_label(self) -> str:
        return month_label(self.period)

    @property
    def latest(self) -> Enps | None:
        """The most recent closed month whose figure may be shown."""
        return next((month for month in self.history if month.shown), None)


def has_answered(session: Session, user: t.User, period: str) -> bool:
    return bool(
        session.scalar(
            select(t.PulseParticipation.id).where(
                t.PulseParticipation.user_id == user.id, t.PulseParticipation.period == period
            )
        )
    )


def answer_pulse(
    session: Session, user: t.User, score: int, *, today: dt.date | None = None
) -> None:
    """Record one anonymous answer for this month; a second answer in the month is refused."""
    organisation = session.get(t.Organisation, user.org_id)
    if organisation is None or not organisation.pulse_enabled:
        raise Forbidden("The staff pulse is switched off in your organisation.")
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10:
        raise InvalidInput("Choose a score from 0 to 10.", "score")
    period = period_of(today or dt.date.today())
    refusal = InvalidInput(
        f"You have already answered the pulse for {month_label(period)}. "
        "The next question opens on the first day of next month.",
        "score",
    )
    if has_answered(session, user, period):
        raise refusal
    try:
        with session.begin_nested():
            session.add(t.PulseParticipation(user_id=user.id, period=period))
            session.flush()
    except IntegrityError:
        raise refusal from None
    for _ in range(5):
        try:
            with session.begin_nested():
                session.add(
                    t.PulseAnswer(
                        id=secrets.randbelow(_MAX_ID) + 1,
                        org_id=user.org_id,
                        score=score,
                        scale=PULSE_SCALE,
                        period=period,
                        created_at=_month_start(period),
                    )
                )
                session.flush()
            return
        except IntegrityError:
            continue
    raise InvalidInput("Your answer could not be saved. Please try again.", "score")


def _months(session: Session, org_id: int, periods: list[str]) -> dict[str, Enps]:
    rows = session.execute(
        select(
            t.PulseAnswer.period,
            func.count(),
            func.sum(case((t.PulseAnswer.score >= 9, 1), else_=0)),
            func.sum(case((t.PulseAnswer.score <= 6, 1), else_=0)),
        )
        .where(
            t.PulseAnswer.org_id == org_id,
            t.PulseAnswer.scale == PULSE_SCALE,
            t.PulseAnswer.period.in_(periods),
        )
        .group_by(t.PulseAnswer.period)
    ).all()
    found = {}
    for period, answers, promoters, detractors in rows:
        promoters, detractors = int(promoters or 0), int(detractors or 0)
        found[period] = Enps(
            period, answers, promoters, answers - promoters - detractors, detractors
        )
    return found


def enps_history(
    session: Session, org_id: int, *, today: dt.date | None = None, months: int = HISTORY_MONTHS
) -> list[Enps]:
    """eNPS of the ``months`` closed months before this one, newest first (empty months too)."""
    periods = _previous_periods(period_of(today or dt.date.today()), months)
    found = _months(session, org_id, periods)
    return [found.get(period, Enps(period, 0, 0, 0, 0)) for period in periods]


def overview(session: Session, user: t.User, *, today: dt.date | None = None) -> PulseOverview:
    """The pulse page of ``user``: whether they may answer this month, and past results."""
    today = today or dt.date.today()
    period = period_of(today)
    organisation = session.get(t.Organisation, user.org_id)
    current = _months(session, user.org_id, [period]).get(period)
    return PulseOverview(
        enabled=bool(organisation and organisation.pulse_enabled),
        period=period,
        answered=has_answered(session, user, period),
        answers_so_far=current.answers if current else 0,
        history=tuple(enps_history(session, user.org_id, today=today)),
    )
