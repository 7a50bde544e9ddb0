"""The API's blueprint and the one shape every refusal takes.

Every error, whatever raised it (a role check, an unknown id, a schema that refused the body,
a rate limit, a body too large), answers ``{"error": {"code", "message", "fields"}}`` with the
matching status, so a client handles them all one way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from flask import jsonify
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from web.extensions import csrf

__all__ = ["CODES", "ApiError", "bp", "fail"]

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Leanlane's JSON API: processes, signals, review and diagrams.",
)
#: Token-authenticated requests carry no session cookie, so there is nothing to forge.
csrf.exempt(bp)

#: Machine-readable error codes by HTTP status, when the view gives none of its own.
CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    428: "precondition_required",
    429: "rate_limited",
    500: "server_error",
}

MESSAGES = {
    400: "The request could not be read.",
    401: "Send a valid API token: Authorization: Bearer <token>.",
    403: "Your role does not allow this.",
    404: "There is no such resource.",
    405: "This resource does not accept that method.",
    413: "The request body is too large.",
    422: "Some fields are not valid.",
    429: "Too many requests; wait a minute and try again.",
    500: "Something went wrong; nothing was saved.",
}


class ApiError(HTTPException):
    """A refusal with a status, a code, a message and the fields at fault."""

    def __init__(
        self,
        status: int,
        message: str = "",
        *,
        code: str = "",
        fields: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message or MESSAGES.get(status, ""))
        self.code = status
        self.error_code = code or CODES.get(status, "error")
        self.fields = dict(fields or {})
        self.extra_headers = dict(headers or {})


def fail(
    status: int,
    message: str = "",
    *,
    code: str = "",
    fields: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> NoReturn:
    raise ApiError(status, message, code=code, fields=fields, headers=headers)


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """webargs' nested ``{"json": {"steps": {"0": {"id": [...]}}}}`` as ``{"steps.0.id": ...}``."""
    found: dict[str, str] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            found.update(_flatten(value, name))
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            found[prefix or "body"] = " ".join(messages)
        else:
            for index, value in enumerate(messages):
                found.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        found[prefix or "body"] = str(messages)
    return found


def _fields_of(error: HTTPException) -> dict[str, str]:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if not messages:
        return {}
    fields: dict[str, str] = {}
    for location, inner in messages.items() if isinstance(messages, Mapping) else ():
        for name, text in _flatten(inner).items():
            key = name if location in ("json", "query", "view_args") else f"{location}.{name}"
            fields[key.removeprefix("_schema") or "body"] = text
    return fields


@bp.errorhandler(HTTPException)
def json_error(error: HTTPException):
    """Errors of the API as JSON; also used by the app for unknown paths under /api/."""
    status = error.code or 500
    if isinstance(error, ApiError):
        code, message, fields = error.error_code, error.description or "", error.fields
        headers = error.extra_headers
    else:
        fields = _fields_of(error)
        code = CODES.get(status, "error")
        message = MESSAGES.get(status) or error.description or error.name
        if status == 413:
            message = "The request body is too large for this endpoint."
        headers = {}
        if status == 429:
            headers["Retry-After"] = "60"
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="leanlane"'
    response = jsonify({"error": {"code": code, "message": message, "fields": fields}})
    response.status_code = status
    for name, value in headers.items():
        response.headers[name] = value
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    response.headers["Cache-Control"] = "no-store"
    return response
