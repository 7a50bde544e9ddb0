"""Error pages that say what happened and what to do next."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

__all__ = ["DatabaseInteger", "init_app"]


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
    if request.path.startswith("/api/"):
        from web.api.blueprint import json_error

        return json_error(error)
    response = render_template("error.html", code=code, title=title, message=message), code
    if code == 429:
        return response[0], code, {"Retry-After": "60"}
    return response
