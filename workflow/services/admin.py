"""An admin's work on their organisation: the user list, new invitation links, the settings.

Inviting a user and changing a role live in :mod:`workflow.services.accounts`; this module adds
what the admin pages need around them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.adapters import tables as t
from workflow.services import accounts, audit
from workflow.services.errors import InvalidInput, NotFound
from workflow.services.paging import PageLinks, window

__all__ = [
    "USERS_PER_PAGE",
    "UserPage",
    "invitation_state",
    "reissue_invite",
    "update_organisation",
    "user_page",
]

USERS_PER_PAGE = 25


@dataclass(frozen=True)
class UserPage(PageLinks):
    users: list[t.User]
    page: int
    pages: int
    total: int


def user_page(
    session: Session, org_id: int, page: int = 1, per_page: int = USERS_PER_PAGE
) -> UserPage:
    """One page of the organisation's users, by name; a page past the end shows the last."""
    total = session.scalar(select(func.count()).where(t.User.org_id == org_id)) or 0
    page, pages = window(page, total, per_page)
    users = list(
        session.scalars(
            select(t.User)
            .where(t.User.org_id == org_id)
            .order_by(func.lower(t.User.name), t.User.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return UserPage(users, page, pages, total)


def invitation_state(user: t.User, now: dt.datetime | None = None) -> str:
    """``accepted`` (the user has a password), ``pending`` or ``expired``."""
    if user.password_hash:
        return "accepted"
    if user.invite_expires_at is None or user.invite_expires_at < (now or t.utcnow()):
        return "expired"
    return "pending"


def reissue_invite(session: Session, admin: t.User, user: t.User) -> str:
    """A new invitation token for a user who has not accepted yet; the old link stops working."""
    if user.org_id != admin.org_id:
        raise NotFound("No such user.")
    if user.password_hash:
        raise InvalidInput(f"{user.name} has already accepted the invitation and can log in.")
    token = secrets.token_urlsafe(32)
    user.invite_token_hash = accounts.token_hash(token)
    user.invite_expires_at = t.utcnow() + dt.timedelta(days=accounts.INVITE_DAYS)
    user.invited_by_id = admin.id
    session.flush()
    audit.record_about_user(
        session,
        user,
        actor_id=admin.id,
        action="user.invitation_renewed",
        summary=f"Made a new invitation link for {user.name}; the old one stopped working",
    )
    return token


def update_organisation(
    session: Session, admin: t.User, *, name: str, pulse_enabled: bool
) -> t.Organisation:
    """Rename the organisation and switch the staff pulse on or off."""
    organisation = session.get(t.Organisation, admin.org_id)
    if organisation is None:
        raise NotFound("No such organisation.")
    name = name.strip()
    if not name:
        raise InvalidInput("Give the organisation a name.", "name")
    if len(name) > 200:
        raise InvalidInput("Use at most 200 characters for the name.", "name")
    changed = [
        field
        for field, old, new in (
            ("name", organisation.name, name),
            ("pulse_enabled", organisation.pulse_enabled, bool(pulse_enabled)),
        )
        if old != new
    ]
    details: dict[str, object] = {"changed": changed}
    if "name" in changed:
        details.update(old_name=organisation.name, new_name=name)
    if "pulse_enabled" in changed:
        details["pulse_enabled"] = bool(pulse_enabled)
    organisation.name = name
    organisation.pulse_enabled = bool(pulse_enabled)
    session.flush()
    pulse = "on" if organisation.pulse_enabled else "off"
    audit.record(
        session,
        org_id=organisation.id,
        actor_id=admin.id,
        action="organisation.updated",
        subject_kind="organisation",
        subject_id=organisation.id,
        summary=f"Saved the organisation settings (name {organisation.name}, staff pulse {pulse})",
        details=details,
    )
    return organisation
