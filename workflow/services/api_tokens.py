"""Personal tokens for the JSON API: made and revoked by their owner on the account page.

A token is shown once, when it is made; only its SHA-256 is stored (a stolen database copy
gives no working token), with its first characters so its owner can tell tokens apart. A token
acts as its user with the user's current role and organisation: deactivating the user, revoking
the token or reaching its expiry ends it at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.adapters import tables as t
from workflow.services import audit
from workflow.services.errors import InvalidInput, NotFound

__all__ = [
    "MAX_ACTIVE_TOKENS",
    "MAX_NAME",
    "TOKEN_PREFIX",
    "authenticate",
    "create_token",
    "revoke_token",
    "token_state",
    "user_tokens",
]

#: Every token starts with this, so secret scanners and people recognise one.
# A public prefix, not a secret.
TOKEN_PREFIX = "ll_"  # nosec B105
MAX_NAME = 100
#: Tokens a user may hold at once (revoked and expired ones do not count).
MAX_ACTIVE_TOKENS = 25
#: How many characters of the token are kept in clear to tell tokens apart.
SHOWN_CHARACTERS = 10
#: ``last_used_at`` is written at most this often, so reads do not all become writes.
USE_RECORD_INTERVAL = dt.timedelta(minutes=1)
_LONGEST_TOKEN = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_state(token: t.ApiToken, now: dt.datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    now = now or t.utcnow()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def user_tokens(session: Session, user: t.User) -> list[t.ApiToken]:
    """The user's tokens, newest first (revoked and expired ones too, for the record)."""
    return list(
        session.scalars(
            select(t.ApiToken)
            .where(t.ApiToken.user_id == user.id)
            .order_by(t.ApiToken.created_at.desc(), t.ApiToken.id.desc())
        )
    )


def create_token(
    session: Session,
    user: t.User,
    name: str,
    *,
    expires_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> tuple[t.ApiToken, str]:
    """A new token for ``user``; returns the row and the token itself (shown once, never kept).

    ``expires_at`` (naive UTC) must lie in the future; None means the token works until it is
    revoked.
    """
    now = now or t.utcnow()
    name = _CONTROL.sub("", name or "").strip()
    if not name:
        raise InvalidInput(
            "Name the token after what will use it, e.g. “Reporting script”.", "name"
        )
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Keep the name to {MAX_NAME} characters.", "name")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("Choose an expiry date after today.", "expires")
    active = [row for row in user_tokens(session, user) if token_state(row, now) == "active"]
    if len(active) >= MAX_ACTIVE_TOKENS:
        raise InvalidInput(
            f"You already have {MAX_ACTIVE_TOKENS} active tokens. Revoke one you no longer "
            "use first.",
            "name",
        )
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = t.ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_hash(plain),
        prefix=plain[:SHOWN_CHARACTERS],
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        org_id=user.org_id,
        actor_id=user.id,
        action="api_token.created",
        subject_kind="api_token",
        subject_id=row.id,
        summary=f"Created the API token “{row.name}”",
        details={"name": row.name, "expires_at": expires_at},
    )
    return row, plain


def revoke_token(
    session: Session, user: t.User, token_id: int, *, now: dt.datetime | None = None
) -> t.ApiToken:
    """Stop one of the user's tokens from working; revoking twice keeps the first time."""
    row = session.scalar(
        select(t.ApiToken).where(t.ApiToken.id == token_id, t.ApiToken.user_id == user.id)
    )
    if row is None:
        raise NotFound("There is no such token among yours.")
    if row.revoked_at is None:
        row.revoked_at = now or t.utcnow()
        session.flush()
        audit.record(
            session,
            org_id=user.org_id,
            actor_id=user.id,
            action="api_token.revoked",
            subject_kind="api_token",
            subject_id=row.id,
            summary=f"Revoked the API token “{row.name}”",
            details={"name": row.name},
        )
    return row


def authenticate(session: Session, token: str, *, now: dt.datetime | None = None) -> t.User | None:
    """The active user a token belongs to; None for an unknown, revoked or expired token.

    Records when the token was last used (at most once a minute), in the caller's transaction.
    """
    if not token or len(token) > _LONGEST_TOKEN or not token.startswith(TOKEN_PREFIX):
        return None
    now = now or t.utcnow()
    row = session.scalar(select(t.ApiToken).where(t.ApiToken.token_hash == _hash(token)))
    if row is None or token_state(row, now) != "active":
        return None
    user = session.get(t.User, row.user_id)
    if user is None or not user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= USE_RECORD_INTERVAL:
        row.last_used_at = now
        session.flush()
    return user
