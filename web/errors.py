"""Error pages that say what happened and what to do next."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from web import database

__all__ = [
    "DATABASE_ERRORS",
    "DATABASE_MESSAGE",
    "DATABASE_TITLE",
    "RETRY_AFTER_SECONDS",
    "DatabaseInteger",
    "init_app",
]

log = logging.getLogger(__name__)

#: What SQLAlchemy raises when the database cannot be reached, restarts, drops the
#: connection or runs out of pooled connections (psycopg's and sqlite3's errors arrive wrapped
#: in these).
DATABASE_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
#: A database restart usually takes seconds; clients and proxies may retry after this.
RETRY_AFTER_SECONDS = 30
DATABASE_TITLE = "Leanlane is briefly unavailable"
DATABASE_MESSAGE = (
    "The database is not answering, perhaps because it is restarting. Nothing from this "
    "request was saved. Please try again in a minute."
)
_OUTAGE = "leanlane.database_outage"


class DatabaseInteger(IntegerConverter):
    """Ids in URLs that fit the database's integer columns; a larger number is simply not
    found instead of overflowing the database driver."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


MESSAGES = {
    400: ("That request could not be understood", "Check what you entered and try again."),
    403: ("You cannot open this page", "Your role does not give access to it. Ask your admin."),
    404: ("Page not found", "It may have been removed, or the link may be wrong."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("That upload is too large", "Files and forms are limited to 12 MiB. Try a smaller file."),
    429: (
        "Too many requests",
        "You have sent a lot in a short time. Please wait a minute and try again.",
    ),
    500: ("Something went wrong", "Nothing was saved. Please try again in a moment."),
}


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    for error in DATABASE_ERRORS:
        app.register_error_handler(error, _database_unavailable)
    app.extensions[_OUTAGE] = False
    event.listen(database.engine(app), "checkout", lambda *_args: _note_database_recovery(app))


def _database_unavailable(error: Exception):
    """A 503 instead of a 500 while the database is away: the request's transaction is rolled
    back (so no partial rows), the outage is logged once rather than on every request, and
    the next request gets a fresh pooled connection, so the app recovers without a restart."""
    session = g.pop("db_session", None)
    if session is not None:
        with contextlib.suppress(DATABASE_ERRORS):
            session.rollback()
        session.close()
    # The page is drawn without the signed-in user, whose rows went with the rollback.
    g.user = None
    app = current_app._get_current_object()
    if not app.extensions.get(_OUTAGE):
        app.extensions[_OUTAGE] = True
        log.error("Database unavailable; answering 503 until it is back: %s", error)
    else:
        log.debug("Database still unavailable: %s", error)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):
        body = {"error": {"code": "unavailable", "message": DATABASE_MESSAGE, "fields": {}}}
        return jsonify(body), 503, headers
    page = render_template("error.html", code=503, title=DATABASE_TITLE, message=DATABASE_MESSAGE)
    return page, 503, headers


def _note_database_recovery(app: Flask) -> None:
    """Log once that the database answers again after an outage: a connection was handed out."""
    if app.extensions.get(_OUTAGE):
        app.extensions[_OUTAGE] = False
        log.warning("Database available again")


def _csrf_error(error: CSRFError):
    return (
        render_template(
            "error.html",
            code=400,
            title="The form had expired",
            message="For your safety the form could not be sent. Go back, reload the page "
            "and send it again; what you typed was not saved.",
        ),
        400,
    )


def _http_error(error: HTTPException):
    code = error.code or 500
    title, message = MESSAGES.get(code, (error.name, error.description or ""))
    if isinstance(error, RateLimitExceeded) and error.limit.error_message:
        message = error.description or message
    if request.path.startswith("/api/"):
        from web.api.blueprint import json_error

        return json_error(error)
    response = render_template("error.html", code=code, title=title, message=message), code
    if code == 429:
        return response[0], code, {"Retry-After": "60"}
    return response
