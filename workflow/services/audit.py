"""The audit trail: who changed what in an organisation, and when.

Every service that changes an organisation's data on a person's behalf calls :func:`record`
before it returns, so the event is written in the same transaction as the change: a change that
rolls back leaves no event, and a committed change always has one. Signals people give
(flags, "me too" votes, customer feedback, the anonymous pulse) are records of their own and
are not repeated here; a pulse answer in particular must never be tied to a person and a time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from workflow.adapters import tables as t
from workflow.interchange.steps_csv import neutralise
from workflow.services.paging import PageLinks, window

__all__ = [
    "ACTIONS",
    "AREAS",
    "CSV_COLUMNS",
    "EVENTS_PER_PAGE",
    "MAX_CSV_ROWS",
    "NOBODY",
    "ActivityFilter",
    "ActivityPage",
    "FilterChoices",
    "activity_csv",
    "activity_page",
    "details_of",
    "filter_choices",
    "prune",
    "record",
    "record_about_user",
]

#: Every action the trail knows, with the words the activity page shows for it.
ACTIONS: dict[str, str] = {
    "organisation.updated": "Organisation settings changed",
    "organisation.exported": "Organisation exported",
    "user.created": "User created",
    "user.invited": "User invited",
    "user.invitation_renewed": "Invitation link renewed",
    "user.invitation_accepted": "Invitation accepted",
    "user.role_changed": "Role changed",
    "user.deactivated": "User deactivated",
    "user.reactivated": "User reactivated",
    "user.password_changed": "Password changed",
    "api_token.created": "API token created",
    "api_token.revoked": "API token revoked",
    "process.created": "Process created",
    "process.version_saved": "Version saved",
    "process.version_restored": "Version restored",
    "process.deleted": "Process deleted",
    "process.links_saved": "Blueprint links saved",
    "process.member_added": "Member added",
    "process.member_removed": "Member removed",
    "flag.status_set": "Flag status set",
    "flag.linked": "Flag linked to a proposal",
    "flag.unlinked": "Flag unlinked from its proposal",
    "proposal.commented": "Proposal commented",
    "proposal.accepted": "Proposal accepted",
    "proposal.rejected": "Proposal rejected",
    "proposal.reopened": "Proposal reopened",
    "proposal.applied": "Accepted proposals applied",
    "outbox.sent": "Replies sent",
}

#: The parts of an action code before its dot, with the words the filter shows for them.
AREAS: dict[str, str] = {
    "organisation": "Organisation",
    "user": "Users",
    # The name of an area of the audit trail.
    "api_token": "API tokens",  # nosec B105
    "process": "Processes",
    "flag": "Flags",
    "proposal": "Proposals",
    "outbox": "Replies",
}

#: Words that must not name a detail: the trail never holds a secret, even a hashed one.
SECRET_WORDS = ("password", "token", "secret", "hash")
#: Filter value for events nobody signed in made (the command line, or a deleted user).
NOBODY = "nobody"
EVENTS_PER_PAGE = 50
#: A CSV download holds at most this many events (the newest); filter to narrow it.
MAX_CSV_ROWS = 50_000
CSV_COLUMNS = (
    "time_utc",
    "actor_name",
    "actor_email",
    "action",
    "action_words",
    "subject_kind",
    "subject_id",
    "process_id",
    "summary",
    "details",
)


def _one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def record(
    session: Session,
    *,
    org_id: int,
    actor_id: int | None,
    action: str,
    subject_kind: str,
    subject_id: object = "",
    summary: str,
    process_id: int | None = None,
    details: Mapping[str, object] | None = None,
) -> t.AuditEvent:
    """Add an event to the session; it is written with the change when the caller commits.

    Raises :class:`ValueError` for an unknown action or a detail named like a secret: both are
    mistakes in the calling code, never in what a user typed.
    """
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}.")
    details = dict(details or {})
    secret = [key for key in details if any(word in key.lower() for word in SECRET_WORDS)]
    if secret:
        raise ValueError(f"Audit details must not hold secrets: {', '.join(secret)}.")
    actor = session.get(t.User, actor_id) if actor_id is not None else None
    event = t.AuditEvent(
        org_id=org_id,
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else "",
        actor_email=actor.email if actor else "",
        action=action,
        subject_kind=subject_kind,
        subject_id=str(subject_id)[:300],
        process_id=process_id,
        summary=_one_line(summary, 500),
        details=json.dumps(details, sort_keys=True, default=str),
        created_at=t.utcnow(),
    )
    session.add(event)
    return event


def record_about_user(
    session: Session,
    user: t.User,
    *,
    actor_id: int | None,
    action: str,
    summary: str,
    process_id: int | None = None,
    details: Mapping[str, object] | None = None,
) -> t.AuditEvent:
    """:func:`record` for an action on a user account, in the user's organisation."""
    return record(
        session,
        org_id=user.org_id,
        actor_id=actor_id,
        action=action,
        subject_kind="user",
        subject_id=user.id,
        process_id=process_id,
        summary=summary,
        details=details,
    )


def details_of(event: t.AuditEvent) -> dict[str, object]:
    """The event's details; an unreadable value reads as none rather than breaking a page."""
    try:
        value = json.loads(event.details or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- reading the trail -------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivityFilter:
    """What the activity list is narrowed to; empty values mean everything.

    ``person`` is a user id as text, or :data:`NOBODY`; ``action`` is an action code or an
    area (the part before the dot).
    """

    person: str = ""
    action: str = ""
    process_id: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.person or self.action or self.process_id)


def _query(org_id: int, chosen: ActivityFilter) -> Select:
    query = select(t.AuditEvent).where(t.AuditEvent.org_id == org_id)
    if chosen.person == NOBODY:
        query = query.where(t.AuditEvent.actor_id.is_(None))
    elif chosen.person.isdigit():
        query = query.where(t.AuditEvent.actor_id == int(chosen.person))
    if chosen.action in ACTIONS:
        query = query.where(t.AuditEvent.action == chosen.action)
    elif chosen.action in AREAS:
        query = query.where(t.AuditEvent.action.startswith(chosen.action + ".", autoescape=True))
    if chosen.process_id is not None:
        query = query.where(t.AuditEvent.process_id == chosen.process_id)
    return query


@dataclass(frozen=True)
class ActivityPage(PageLinks):
    events: list[t.AuditEvent]
    page: int
    pages: int
    total: int


def activity_page(
    session: Session,
    org_id: int,
    chosen: ActivityFilter,
    page: int = 1,
    per_page: int = EVENTS_PER_PAGE,
) -> ActivityPage:
    """One page of the organisation's events, newest first; a page past the end shows the last."""
    query = _query(org_id, chosen)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page, pages = window(page, total, per_page)
    events = list(
        session.scalars(
            query.order_by(t.AuditEvent.created_at.desc(), t.AuditEvent.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return ActivityPage(events, page, pages, total)


@dataclass(frozen=True)
class FilterChoices:
    """The people and processes the activity list can be narrowed to: (id, name) pairs."""

    people: list[tuple[int, str]]
    processes: list[tuple[int, str]]


def filter_choices(session: Session, org_id: int) -> FilterChoices:
    """The organisation's users and processes, by name."""
    people = session.execute(
        select(t.User.id, t.User.name)
        .where(t.User.org_id == org_id)
        .order_by(func.lower(t.User.name), t.User.id)
    )
    processes = session.execute(
        select(t.Process.id, t.Process.name)
        .where(t.Process.org_id == org_id)
        .order_by(func.lower(t.Process.name), t.Process.id)
    )
    return FilterChoices(
        [(row.id, row.name) for row in people], [(row.id, row.name) for row in processes]
    )


def _cells(event: t.AuditEvent) -> list[str]:
    values = [
        event.created_at.isoformat(sep=" ", timespec="seconds"),
        event.actor_name,
        event.actor_email,
        event.action,
        ACTIONS.get(event.action, event.action),
        event.subject_kind,
        event.subject_id,
        "" if event.process_id is None else str(event.process_id),
        event.summary,
        event.details,
    ]
    return [neutralise(value) for value in values]


def activity_csv(session: Session, org_id: int, chosen: ActivityFilter) -> str:
    """The filtered events, newest first, as CSV whose every cell a spreadsheet shows as text
    (at most :data:`MAX_CSV_ROWS`)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    events: Iterable[t.AuditEvent] = session.scalars(
        _query(org_id, chosen)
        .order_by(t.AuditEvent.created_at.desc(), t.AuditEvent.id.desc())
        .limit(MAX_CSV_ROWS)
    )
    writer.writerows(_cells(event) for event in events)
    return "\ufeff" + out.getvalue()


def prune(session: Session, before: dt.datetime, *, org_id: int | None = None) -> int:
    """Delete events older than ``before`` (naive UTC), of one organisation or all; returns
    how many went. For operators who keep the trail for a fixed time only."""
    query = delete(t.AuditEvent).where(t.AuditEvent.created_at < before)
    if org_id is not None:
        query = query.where(t.AuditEvent.org_id == org_id)
    result = session.execute(query.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)
