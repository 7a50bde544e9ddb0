"""Who is asking: the logged-in user, role checks, organisation scoping and response headers.

The session cookie holds the user id and the user's ``session_version``; logout and password
or role changes bump the version in the database, so a cookie copied before them stops working
(a signed cookie alone would stay valid until it expires).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, g, redirect, request, session, url_for
from sqlalchemy import select

from web.database import db
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.services.accounts import end_sessions

__all__ = [
    "CSP",
    "current_user",
    "init_app",
    "log_in",
    "log_out",
    "login_required",
    "org_user_or_404",
    "process_or_404",
    "roles_required",
    "safe_next",
]

F = TypeVar("F", bound=Callable[..., Any])

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def init_app(app: Flask) -> None:
    app.before_request(_load_user)
    app.after_request(_headers)
    app.context_processor(lambda: {"current_user": current_user()})


def _load_user() -> None:
    g.user = None
    user_id, version = session.get("uid"), session.get("sv")
    if user_id is None:
        return
    user = db().get(t.User, user_id)
    if user is None or not user.active or user.session_version != version:
        session.clear()
        return
    g.user = user


def current_user() -> t.User | None:
    return g.get("user")


def log_in(user: t.User) -> None:
    """Start a fresh session (never reuse one from before the login)."""
    session.clear()
    session["uid"] = user.id
    session["sv"] = user.session_version
    session.permanent = True


def log_out() -> None:
    user = current_user()
    if user is not None:
        end_sessions(user)
        db().commit()
    session.clear()


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return default
    return target


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[F], F]:
    """Logged-in users with one of ``roles`` (admins may do everything); others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user.role != "admin" and user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def process_or_404(process_id: int) -> t.Process:
    """The current user's organisation's process; any other id is simply not found."""
    user = current_user()
    if user is None:
        abort(404)
    row = repo.find_process(db(), user.org_id, process_id)
    if row is None:
        abort(404)
    return row


def org_user_or_404(user_id: int) -> t.User:
    user = current_user()
    found = db().scalar(
        select(t.User).where(t.User.id == user_id, t.User.org_id == (user.org_id if user else -1))
    )
    if found is None:
        abort(404)
    return found


def _headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_user() is not None:
        headers.setdefault("Cache-Control", "private, no-store")
    return response
