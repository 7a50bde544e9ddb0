"""Organisations, users, passwords and invitations.

Passwords are hashed with argon2id (argon2-cffi's defaults follow RFC 9106's second
recommendation). Invitations carry a random token that is stored only as its SHA-256 hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.adapters import tables as t
from workflow.services import audit
from workflow.services.errors import InvalidInput, NotFound

__all__ = [
    "INVITE_DAYS",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "accept_invite",
    "authenticate",
    "create_organisation",
    "create_user",
    "email_problem",
    "end_sessions",
    "found_organisation",
    "hash_password",
    "invite_user",
    "set_password",
    "set_role",
    "slugify",
    "token_hash",
    "user_for_invite",
    "verify_password",
]

ROLES = ("admin", "owner", "staff", "reviewer")
ROLE_WORDS = {
    "admin": "Administrator",
    "owner": "Process owner",
    "staff": "Frontline staff",
    "reviewer": "Improvement team",
}
MIN_PASSWORD_LENGTH = 10
INVITE_DAYS = 7
#: The shape of an address: a local part of at most 64 characters, one "@", a domain with a dot.
EMAIL_PATTERN = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+\Z")
MAX_EMAIL = 254
#: Characters RFC 5322 allows in an address only inside quotes or as punctuation between
#: addresses. A mail client or server would read ``a,b@x.org`` as two recipients, and
#: ``<svg/onload=x>@x.org`` or ``=hyperlink("e")@x.org`` as another address than the one shown;
#: no real address needs them, so they are refused where an address is entered.
EMAIL_REFUSED = frozenset('<>()[]\\,;:"')
#: Opens an RFC 2047 encoded word, which mail headers decode (see :func:`email_problem`).
ENCODED_WORD = "=?"

_hasher = PasswordHasher()
#: Verified against when the e-mail is unknown, so a wrong address takes as long as a wrong
#: password and does not reveal who has an account.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return bool(password_hash) and _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80] or "organisation"


def _describe(ch: str) -> str:
    if ch.isspace():
        return "spaces or line breaks"
    if unicodedata.category(ch) == "Cc":
        return f"control characters (U+{ord(ch):04X})"
    if unicodedata.category(ch)[0] in "CZ":
        return f"invisible or direction-changing characters (U+{ord(ch):04X})"
    return f"the character “{ch}”"


def email_problem(email: str) -> str | None:
    """Why ``email`` (already stripped) cannot be stored as an address, or None when it can.

    Letters and digits of any script, dots and the other characters RFC 5322 allows unquoted
    (``' + - _ = { } / ! # $ % & * ? ^ ` | ~``) are kept, so plus-tags, hyphens, subdomains
    and long top-level domains pass. Control, format (bidi overrides, zero-width) and space
    characters are refused: an address shown in a page, a CSV file or a mail header must read
    as what it is. So is ``=?``, which opens an RFC 2047 encoded word: a mail library would
    decode ``=?utf-8?q?...?=`` in a header into any text, line breaks included.
    """
    for ch in email:
        if ch in EMAIL_REFUSED or ch.isspace() or unicodedata.category(ch)[0] in "CZ":
            return f"An e-mail address cannot contain {_describe(ch)}."
    if ENCODED_WORD in email:
        return f"An e-mail address cannot contain “{ENCODED_WORD}”."
    if len(email) > MAX_EMAIL:
        return f"An e-mail address has at most {MAX_EMAIL} characters."
    if not EMAIL_PATTERN.match(email):
        return "Enter an e-mail address like name@example.org."
    return None


def _clean_email(email: str) -> str:
    email = email.strip().lower()
    problem = email_problem(email)
    if problem:
        raise InvalidInput(problem, "email")
    return email


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for the password.", "password"
        )
    if len(password) > 1000:
        raise InvalidInput("Use at most 1,000 characters for the password.", "password")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"Choose one of the roles: {', '.join(ROLES)}.", "role")


def free_slug(session: Session, name: str) -> str:
    """A slug for ``name`` no organisation uses yet (``acme``, else ``acme-2``, ...)."""
    base = slugify(name)
    slug, n = base, 1
    while session.scalar(select(t.Organisation.id).where(t.Organisation.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def organisation_by_slug(session: Session, slug: str) -> t.Organisation | None:
    return session.scalar(select(t.Organisation).where(t.Organisation.slug == slug))


def create_organisation(session: Session, name: str) -> t.Organisation:
    name = name.strip()
    if not name:
        raise InvalidInput("Give the organisation a name.", "name")
    org = t.Organisation(name=name[:200], slug=free_slug(session, name))
    session.add(org)
    session.flush()
    return org


def _email_taken(session: Session, email: str) -> bool:
    return bool(session.scalar(select(t.User.id).where(func.lower(t.User.email) == email)))


def create_user(
    session: Session, org: t.Organisation, email: str, name: str, role: str, password: str
) -> t.User:
    email = _clean_email(email)
    _check_role(role)
    _check_password(password)
    if _email_taken(session, email):
        raise InvalidInput("A user with this e-mail address already exists.", "email")
    user = t.User(
        org_id=org.id,
        email=email,
        name=name.strip()[:200] or email,
        role=role,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    audit.record_about_user(
        session,
        user,
        actor_id=None,
        action="user.created",
        summary=f"Created {user.name} ({user.email}) as {ROLE_WORDS[role]}",
        details={"role": role},
    )
    return user


def authenticate(session: Session, email: str, password: str) -> t.User | None:
    """The active user with these credentials, or None (same answer for every failure)."""
    user = session.scalar(select(t.User).where(func.lower(t.User.email) == email.strip().lower()))
    if user is None or not user.password_hash:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = t.utcnow()
    return user


def set_password(
    session: Session, user: t.User, password: str, *, actor_id: int | None = None
) -> None:
    """Change a password; every session of the user ends.

    ``actor_id`` is the user themself on their account page, None from the command line.
    """
    _check_password(password)
    user.password_hash = hash_password(password)
    end_sessions(user)
    by_self = actor_id == user.id
    audit.record_about_user(
        session,
        user,
        actor_id=actor_id,
        action="user.password_changed",
        summary=f"{user.name} changed their password"
        if by_self
        else f"Set a new password for {user.name}",
    )


def end_sessions(user: t.User) -> None:
    """Sessions remember the version they were made with; bumping it ends them all."""
    user.session_version = (user.session_version or 0) + 1


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_user(
    session: Session, admin: t.User, email: str, name: str, role: str
) -> tuple[t.User, str]:
    """A new user of the admin's organisation and the token of their invitation link."""
    return _invite(session, admin.org_id, email, name, role, admin.id)


def found_organisation(
    session: Session, name: str, admin_email: str, admin_name: str = ""
) -> tuple[t.Organisation, t.User, str]:
    """A new organisation and its first admin, who sets a password through the link's token.

    This is how a deployment without the demo gets its first user.
    """
    org = create_organisation(session, name)
    admin, token = _invite(session, org.id, admin_email, admin_name, "admin", None)
    return org, admin, token


def _invite(
    session: Session, org_id: int, email: str, name: str, role: str, invited_by: int | None
) -> tuple[t.User, str]:
    email = _clean_email(email)
    _check_role(role)
    if _email_taken(session, email):
        raise InvalidInput("A user with this e-mail address already exists.", "email")
    token = secrets.token_urlsafe(32)
    user = t.User(
        org_id=org_id,
        email=email,
        name=name.strip()[:200] or email,
        role=role,
        # No password until the invitation is accepted.
        password_hash="",  # nosec B106
        invite_token_hash=token_hash(token),
        invite_expires_at=t.utcnow() + dt.timedelta(days=INVITE_DAYS),
        invited_by_id=invited_by,
    )
    session.add(user)
    session.flush()
    audit.record_about_user(
        session,
        user,
        actor_id=invited_by,
        action="user.invited",
        summary=f"Invited {user.name} ({user.email}) as {ROLE_WORDS[role]}",
        details={"role": role},
    )
    return user, token


def user_for_invite(session: Session, token: str) -> t.User | None:
    if not token or len(token) > 200:
        return None
    user = session.scalar(select(t.User).where(t.User.invite_token_hash == token_hash(token)))
    if user is None or user.invite_expires_at is None or user.invite_expires_at < t.utcnow():
        return None
    return user


def accept_invite(session: Session, token: str, password: str) -> t.User:
    user = user_for_invite(session, token)
    if user is None:
        raise NotFound("This invitation link is not valid any more; ask your admin for a new one.")
    _check_password(password)
    user.password_hash = hash_password(password)
    user.invite_token_hash = None
    user.invite_expires_at = None
    audit.record_about_user(
        session,
        user,
        actor_id=user.id,
        action="user.invitation_accepted",
        summary=f"{user.name} accepted the invitation and set a password",
    )
    return user


def set_role(session: Session, admin: t.User, user: t.User, role: str, active: bool) -> None:
    """Change a colleague's role or access; an admin cannot lock themselves out."""
    _check_role(role)
    if user.org_id != admin.org_id:
        raise NotFound("No such user.")
    if user.id == admin.id and (role != "admin" or not active):
        raise InvalidInput("You cannot remove your own admin access.", "role")
    if user.role == role and user.active == active:
        return
    details: dict[str, object] = {}
    if user.role != role:
        details.update(old_role=user.role, new_role=role)
    if user.active != active:
        action = "user.reactivated" if active else "user.deactivated"
        summary = f"{'Reactivated' if active else 'Deactivated'} {user.name}"
    else:
        action = "user.role_changed"
        summary = f"Changed {user.name}'s role from {ROLE_WORDS[user.role]} to {ROLE_WORDS[role]}"
    user.role = role
    user.active = active
    end_sessions(user)
    audit.record_about_user(
        session,
        user,
        actor_id=admin.id,
        action=action,
        summary=summary,
        details=details,
    )
