"""Who is calling the API: a personal token in ``Authorization: Bearer <token>``.

The API never reads the session cookie: a browser tab open on Leanlane cannot be made to call
it, so the API needs no CSRF token. The token's user becomes the request's user, so the pages'
organisation scoping (:func:`web.security.process_or_404`) works unchanged, and role checks
follow the same policy as the pages (admins may do everything).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from web.api.blueprint import bp, fail
from web.database import db
from web.security import current_user
from workflow.adapters import tables as t
from workflow.services import api_tokens

__all__ = [
    "ALL",
    "DECIDERS",
    "LARGEST_ID",
    "OWNERS",
    "PUBLIC_ENDPOINTS",
    "READERS",
    "api_user",
    "roles",
]

F = TypeVar("F", bound=Callable[..., Any])

ALL = ("staff", "owner", "reviewer", "admin")
OWNERS = ("owner", "admin")
READERS = ("reviewer", "owner", "admin")
DECIDERS = ("reviewer", "admin")

#: Endpoints anyone may call without a token.
PUBLIC_ENDPOINTS = frozenset({"api.openapi", "api.public_feedback", "api.public_journey"})


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return value.strip()


@bp.before_request
def _authenticate() -> None:
    g.user = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    token = _bearer()
    if not token:
        fail(
            401,
            "Send your API token: Authorization: Bearer <token>. Make one on your "
            "account page under API tokens.",
            code="token_missing",
            headers={"WWW-Authenticate": 'Bearer realm="leanlane"'},
        )
    session = db()
    user = api_tokens.authenticate(session, token)
    if user is None:
        session.rollback()
        fail(
            401,
            "This API token is unknown, revoked or expired, or its user is deactivated.",
            code="token_invalid",
            headers={"WWW-Authenticate": 'Bearer realm="leanlane", error="invalid_token"'},
        )
    if session.dirty:
        session.commit()
    g.user = user
    _ids_in_range()


#: Row ids are 32-bit on every database; larger numbers name nothing.
LARGEST_ID = 2**31 - 1


def _ids_in_range() -> None:
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not 0 < value <= LARGEST_ID:
            fail(404)


def api_user() -> t.User:
    user = current_user()
    if user is None:
        fail(401)
    return user


def roles(*allowed: str) -> Callable[[F], F]:
    """Users with one of ``allowed`` roles (admins always); others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = api_user()
            if user.role != "admin" and user.role not in allowed:
                fail(403, "Your role does not allow this.")
            return view(*args, **kwargs)

        wrapped._api_roles = frozenset(allowed) | {"admin"}  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate
