"""Who works in a process: staff see the processes they work in first."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workflow.adapters import tables as t
from workflow.services import audit
from workflow.services.errors import InvalidInput

__all__ = ["add_member", "processes_of", "remove_member"]


def add_member(session: Session, row: t.Process, user: t.User, *, actor_id: int | None) -> None:
    """Say that ``user`` works in the process (they see it first on their process list)."""
    if user.org_id != row.org_id:
        raise InvalidInput("Choose a person of your organisation.", "user")
    exists = session.scalar(
        select(t.ProcessMember.id).where(
            t.ProcessMember.process_id == row.id, t.ProcessMember.user_id == user.id
        )
    )
    if exists:
        raise InvalidInput(f"{user.name} already works in this process.", "user")
    session.add(t.ProcessMember(process_id=row.id, user_id=user.id))
    session.flush()
    _record(session, row, user, actor_id, "process.member_added", f"{user.name} now works in")


def remove_member(session: Session, row: t.Process, user: t.User, *, actor_id: int | None) -> None:
    """Say that ``user`` no longer works in the process; nothing happens if they did not."""
    removed = session.execute(
        delete(t.ProcessMember).where(
            t.ProcessMember.process_id == row.id, t.ProcessMember.user_id == user.id
        )
    )
    session.flush()
    if removed.rowcount:
        _record(
            session,
            row,
            user,
            actor_id,
            "process.member_removed",
            f"{user.name} no longer works in",
        )


def _record(
    session: Session, row: t.Process, user: t.User, actor_id: int | None, action: str, what: str
) -> None:
    audit.record_about_user(
        session,
        user,
        actor_id=actor_id,
        action=action,
        process_id=row.id,
        summary=f"{what} {row.name}",
    )


def processes_of(session: Session, user: t.User) -> set[int]:
    """Ids of the processes ``user`` works in."""
    return set(
        session.scalars(
            select(t.ProcessMember.process_id).where(t.ProcessMember.user_id == user.id)
        )
    )
