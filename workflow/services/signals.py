"""Staff flags on steps: raise one, say "me too", withdraw one's own, follow them.

A flag is the quickest way for the people who do the work to say a step is painful or
pointless, so raising one asks for little: a category and a severity, with words optional.
"Me too" replaces duplicates: one vote per person and flag, never on one's own flag. Every new
flag and every vote bumps ``Process.signals_revision``, the key under which signal-dependent
renders (heatmaps, dashboards) are cached, so they are redrawn once and only when needed.
The flag keeps the step's name as it was, so it still reads well after the step is renamed or
removed by a later version.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow import model as engine
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.services.errors import Forbidden, InvalidInput, NotFound
from workflow.services.paging import window
from workflow.vocabulary import FlagCategory, FlagSource, FlagStatus, Waste

__all__ = [
    "MAX_TEXT",
    "OPEN_STATUSES",
    "PER_PAGE",
    "FlagCounts",
    "FlagView",
    "MyFlag",
    "Page",
    "StepFlags",
    "current_step",
    "flag_step",
    "flags_on_step",
    "me_too",
    "my_flag",
    "my_flags",
    "open_flags_by_process",
    "step_flag_counts",
    "withdraw_flag",
]

#: Longest text and idea a flag may carry (characters).
MAX_TEXT = 1000
PER_PAGE = 20
OPEN_STATUSES = (FlagStatus.NEW.value, FlagStatus.UNDER_REVIEW.value)

#: The categories that are one of the eight wastes (the rest are friction types).
WASTE_CATEGORIES = frozenset(FlagCategory(w.value) for w in Waste)

T = TypeVar("T")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")


@dataclass(frozen=True)
class FlagCounts:
    """Open flags on one step by where they came from."""

    staff: int = 0
    customer: int = 0

    @property
    def total(self) -> int:
        return self.staff + self.customer


@dataclass(frozen=True)
class FlagView:
    """A flag as one viewer may see it: the author only when allowed."""

    flag: t.Flag
    votes: int
    #: The author's name for this viewer; "" when hidden or unknown.
    author_name: str
    mine: bool
    voted: bool
    #: Shown to admins next to a name others cannot see.
    anonymous_to_others: bool


@dataclass(frozen=True)
class MyFlag:
    """One of the user's own flags with what became of it."""

    flag: t.Flag
    process_name: str
    votes: int
    proposal_title: str
    #: Whether the step is still in the process's current version (so its page opens).
    step_exists: bool


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return window(self.number, self.total, self.per_page)[1]

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


@dataclass(frozen=True)
class StepFlags(Page[FlagView]):
    """One page of a step's flags, and how many of all its flags are open, by source."""

    open: FlagCounts = FlagCounts()


def _clean(text: str | None) -> str:
    return _CONTROL.sub("", (text or "").replace("\r\n", "\n")).strip()


def _bump_signals(session: Session, process_id: int) -> None:
    """One more signal on this process, counted in SQL so concurrent flags are all counted."""
    row = session.get(t.Process, process_id)
    if row is not None:
        row.signals_revision = t.Process.signals_revision + 1


def current_step(session: Session, process: t.Process, step_id: str) -> engine.Step:
    """The step ``step_id`` of the process's current version; NotFound when it has none."""
    parsed = repo.parse_document(repo.current_version(session, process).document)
    if step_id not in parsed.process:
        raise NotFound("This process has no such step in its current version.")
    return parsed.process.step(step_id)


def flag_step(
    session: Session,
    user: t.User,
    process: t.Process,
    step_id: str,
    *,
    category: str,
    severity: int,
    text: str = "",
    idea: str = "",
    anonymous: bool = False,
) -> t.Flag:
    """A new staff flag by ``user`` on a step of the process's current version."""
    if process.org_id != user.org_id:
        raise NotFound("There is no such process.")
    step = current_step(session, process, step_id)
    try:
        chosen = FlagCategory(category)
    except ValueError:
        raise InvalidInput("Choose what is wrong with this step.", "category") from None
    if not isinstance(severity, int) or isinstance(severity, bool) or not 1 <= severity <= 5:
        raise InvalidInput("Choose a severity from 1 to 5.", "severity")
    text, idea = _clean(text), _clean(idea)
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"Keep it to {MAX_TEXT:,} characters (now {len(text):,}).", "text")
    if len(idea) > MAX_TEXT:
        raise InvalidInput(f"Keep it to {MAX_TEXT:,} characters (now {len(idea):,}).", "idea")
    flag = t.Flag(
        org_id=user.org_id,
        process_id=process.id,
        step_id=step.id,
        step_name=(step.name or step.id)[:200],
        source=FlagSource.STAFF.value,
        category=chosen.value,
        severity=severity,
        text=text,
        idea=idea,
        status=FlagStatus.NEW.value,
        author_id=user.id,
        anonymous=bool(anonymous),
    )
    session.add(flag)
    _bump_signals(session, process.id)
    session.flush()
    return flag


def _org_flag(
    session: Session,
    user: t.User,
    flag_id: int,
    process_id: int | None = None,
    step_id: str | None = None,
) -> t.Flag:
    query = select(t.Flag).where(t.Flag.id == flag_id, t.Flag.org_id == user.org_id)
    if process_id is not None:
        query = query.where(t.Flag.process_id == process_id)
    if step_id is not None:
        query = query.where(t.Flag.step_id == step_id)
    flag = session.scalar(query)
    if flag is None:
        raise NotFound("There is no such flag.")
    return flag


def me_too(
    session: Session,
    user: t.User,
    flag_id: int,
    *,
    agree: bool = True,
    process_id: int | None = None,
    step_id: str | None = None,
) -> bool:
    """Add (or, with ``agree=False``, take back) the user's "me too" on someone else's flag.

    Saying it twice changes nothing: one vote per person and flag. Returns whether the user
    now agrees with the flag. ``process_id`` and ``step_id``, when given, must be the flag's.
    """
    flag = _org_flag(session, user, flag_id, process_id, step_id)
    if flag.author_id == user.id:
        raise Forbidden("This is your own flag; it already counts you.")
    existing = session.scalar(
        select(t.FlagVote).where(t.FlagVote.flag_id == flag.id, t.FlagVote.user_id == user.id)
    )
    if agree and existing is None:
        if flag.status not in OPEN_STATUSES:
            raise InvalidInput(
                "This flag is closed. If the problem is back, flag the step again.", "flag"
            )
        try:
            with session.begin_nested():
                session.add(t.FlagVote(flag_id=flag.id, user_id=user.id))
        except IntegrityError:
            return True
        _bump_signals(session, flag.process_id)
    elif not agree and existing is not None:
        session.delete(existing)
        _bump_signals(session, flag.process_id)
    session.flush()
    return agree


def withdraw_flag(session: Session, user: t.User, flag_id: int) -> t.Flag:
    """Remove the user's own flag while nobody has looked at it or joined it yet."""
    flag = _org_flag(session, user, flag_id)
    if flag.author_id != user.id:
        raise NotFound("There is no such flag among yours.")
    if flag.status != FlagStatus.NEW.value:
        raise Forbidden(
            "The improvement team has already picked this flag up, so it stays on record."
        )
    votes = session.scalar(select(func.count()).where(t.FlagVote.flag_id == flag.id)) or 0
    if votes:
        raise Forbidden(
            "Others have said \u201cme too\u201d on this flag, so it stays for them. "
            "You can leave it as it is."
        )
    session.delete(flag)
    _bump_signals(session, flag.process_id)
    session.flush()
    return flag


def open_flags_by_process(session: Session, org_id: int) -> dict[int, int]:
    """How many open flags each process of the organisation has (processes with none left out)."""
    return dict(
        session.execute(
            select(t.Flag.process_id, func.count())
            .where(t.Flag.org_id == org_id, t.Flag.status.in_(OPEN_STATUSES))
            .group_by(t.Flag.process_id)
        ).all()
    )


def step_flag_counts(session: Session, process_id: int) -> dict[str, FlagCounts]:
    """Open flags per step of one process, by source, in one query."""
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for step_id, source, count in session.execute(
        select(t.Flag.step_id, t.Flag.source, func.count())
        .where(t.Flag.process_id == process_id, t.Flag.status.in_(OPEN_STATUSES))
        .group_by(t.Flag.step_id, t.Flag.source)
    ):
        found[step_id][source] = count
    return {
        step: FlagCounts(
            staff=sources.get(FlagSource.STAFF.value, 0),
            customer=sources.get(FlagSource.CUSTOMER.value, 0),
        )
        for step, sources in found.items()
    }


def _votes(session: Session, flag_ids: Sequence[int]) -> dict[int, int]:
    if not flag_ids:
        return {}
    return dict(
        session.execute(
            select(t.FlagVote.flag_id, func.count())
            .where(t.FlagVote.flag_id.in_(flag_ids))
            .group_by(t.FlagVote.flag_id)
        ).all()
    )


def _open_of(source: FlagSource):
    """1 for an open flag from ``source``, else 0, for summing in SQL on any database."""
    return case(
        (and_(t.Flag.status.in_(OPEN_STATUSES), t.Flag.source == source.value), 1), else_=0
    )


def flags_on_step(
    session: Session,
    viewer: t.User,
    process: t.Process,
    step_id: str,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> StepFlags:
    """The step's flags, open ones first and newest first, as ``viewer`` may see them, and its
    open flags counted by source.

    Names of anonymous authors are shown to admins only (and to the authors themselves). Step
    pages are the pages staff open most, so the counts come from one query and the page with
    its votes from another.
    """
    scope = (
        t.Flag.org_id == viewer.org_id,
        t.Flag.process_id == process.id,
        t.Flag.step_id == step_id,
    )
    total, staff, customer = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(_open_of(FlagSource.STAFF)), 0),
            func.coalesce(func.sum(_open_of(FlagSource.CUSTOMER)), 0),
        )
        .select_from(t.Flag)
        .where(*scope)
    ).one()
    number, _pages = window(page, total, per_page)
    votes = (
        select(func.count())
        .where(t.FlagVote.flag_id == t.Flag.id)
        .correlate(t.Flag)
        .scalar_subquery()
    )
    voted = (
        select(t.FlagVote.id)
        .where(t.FlagVote.flag_id == t.Flag.id, t.FlagVote.user_id == viewer.id)
        .correlate(t.Flag)
        .exists()
    )
    rows = session.execute(
        select(t.Flag, t.User.name, votes, voted)
        .outerjoin(t.User, t.User.id == t.Flag.author_id)
        .where(*scope)
        .order_by(t.Flag.status.not_in(OPEN_STATUSES), t.Flag.created_at.desc(), t.Flag.id.desc())
        .offset((number - 1) * per_page)
        .limit(per_page)
    ).all()
    is_admin = viewer.role == "admin"
    views = []
    for flag, name, vote_count, has_voted in rows:
        mine = flag.author_id == viewer.id
        show = bool(name) and (not flag.anonymous or is_admin or mine)
        views.append(
            FlagView(
                flag=flag,
                votes=vote_count or 0,
                author_name=(name or "") if show else "",
                mine=mine,
                voted=bool(has_voted),
                anonymous_to_others=flag.anonymous and show,
            )
        )
    return StepFlags(views, number, per_page, total, FlagCounts(staff=staff, customer=customer))


def _step_ids_now(session: Session, process_ids: set[int]) -> dict[int, frozenset[str]]:
    """Step ids of each process's current version (documents parse from the cache)."""
    if not process_ids:
        return {}
    rows = session.execute(
        select(t.ProcessVersion.process_id, t.ProcessVersion.document)
        .join(t.Process, t.Process.id == t.ProcessVersion.process_id)
        .where(
            t.ProcessVersion.process_id.in_(process_ids),
            t.ProcessVersion.number == t.Process.current_version,
        )
    ).all()
    return {pid: frozenset(repo.parse_document(doc).process.graph) for pid, doc in rows}


def _my_flag_rows(session: Session, user: t.User, rows) -> list[MyFlag]:
    flags = [row[0] for row in rows]
    votes = _votes(session, [f.id for f in flags])
    steps = _step_ids_now(session, {f.process_id for f in flags})
    return [
        MyFlag(
            flag=flag,
            process_name=process_name,
            votes=votes.get(flag.id, 0),
            proposal_title=title or "",
            step_exists=flag.step_id in steps.get(flag.process_id, frozenset()),
        )
        for flag, process_name, title in rows
    ]


def _my_flags_query(user: t.User):
    return (
        select(t.Flag, t.Process.name, t.ProposalReview.title)
        .join(t.Process, t.Process.id == t.Flag.process_id)
        .outerjoin(t.ProposalReview, t.ProposalReview.id == t.Flag.review_id)
        .where(t.Flag.author_id == user.id, t.Flag.org_id == user.org_id)
    )


def my_flags(
    session: Session, user: t.User, *, page: int = 1, per_page: int = PER_PAGE
) -> Page[MyFlag]:
    """The flags the user raised (anonymous ones too), newest first."""
    total = (
        session.scalar(
            select(func.count())
            .select_from(t.Flag)
            .where(t.Flag.author_id == user.id, t.Flag.org_id == user.org_id)
        )
        or 0
    )
    number, _pages = window(page, total, per_page)
    rows = session.execute(
        _my_flags_query(user)
        .order_by(t.Flag.created_at.desc(), t.Flag.id.desc())
        .offset((number - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(_my_flag_rows(session, user, rows), number, per_page, total)


def my_flag(session: Session, user: t.User, flag_id: int) -> MyFlag:
    """One of the user's own flags; NotFound for anyone else's."""
    row = session.execute(_my_flags_query(user).where(t.Flag.id == flag_id)).first()
    if row is None:
        raise NotFound("There is no such flag among yours.")
    return _my_flag_rows(session, user, [row])[0]
