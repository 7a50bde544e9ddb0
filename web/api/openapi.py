"""The OpenAPI 3.1 document of the API, served at ``/api/v1/openapi.json``.

It is made from the routes' schemas (flask-smorest and apispec) once per app, then completed
with what every operation shares: bearer-token security, the error shape and the refusals each
kind of operation can answer (401 and 403 with a token, 404 on an id, 422 on input).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app, jsonify
from flask_smorest import Api

from web.api.auth import LARGEST_ID, PUBLIC_ENDPOINTS
from web.api.blueprint import bp
from web.api.schemas import ErrorSchema

__all__ = ["openapi_document"]

_KEY = "leanlane.openapi"
#: Path parameters that are ids of the model file format or random tokens: never a "/".
_PATTERNS = {
    "step_id": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
    "key": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,299}$",
    # The pattern of a public journey token.
    "token": r"^[A-Za-z0-9_-]{1,64}$",  # nosec B105
}
_REFUSALS = {
    "400": "The body is not JSON.",
    "401": "No token, or an unknown, revoked or expired one.",
    "403": "The caller's role does not allow this.",
    "404": "No such resource in the caller's organisation.",
    "413": "The request body is too large.",
    "422": "A field is not valid; `fields` names each one.",
}


class _DocumentOnly(Api):
    """flask-smorest's spec builder without its app-wide JSON error pages (the web pages keep
    theirs) and without serving docs of its own; its error responses use the API's shape."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        return None

    def _register_doc_blueprint(self) -> None:
        return None


def _build(app: Flask) -> dict[str, Any]:
    api = _DocumentOnly(
        spec_kwargs={
            "title": "Leanlane API",
            "version": "1",
            "openapi_version": "3.1.0",
            "info": {
                "description": "Processes, signals, review and diagrams of your organisation. "
                "Authenticate with a personal token: Authorization: Bearer <token>. "
                "See docs/API.md."
            },
        }
    )
    api.init_app(app)
    app.extensions["flask-smorest"]["blp_name_to_api"][bp.name] = api
    api.spec.components.security_scheme(
        "bearerToken",
        {"type": "http", "scheme": "bearer", "description": "A personal API token."},
    )
    bp.register_views_in_doc(api, app, api.spec, name=bp.name, parameters=None)
    api.spec.tag({"name": bp.name, "description": bp.description})
    document = api.spec.to_dict()
    document["security"] = [{"bearerToken": []}]
    _complete(app, document)
    return document


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _public_paths(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<{name}>", f"{{{name}}}")
            for method in rule.methods or ():
                found.add((path, method.lower()))
    return found


def _complete(app: Flask, document: dict[str, Any]) -> None:
    public = _public_paths(app)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.pop("default", None)
            for parameter in [*operations.get("parameters", []), *operation.get("parameters", [])]:
                if parameter.get("in") == "path" and parameter["schema"].get("type") == "integer":
                    parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": LARGEST_ID}
                if parameter.get("in") == "path" and parameter["name"] in _PATTERNS:
                    parameter["schema"] = {
                        "type": "string",
                        "pattern": _PATTERNS[parameter["name"]],
                    }
            codes = []
            if (path, method) in public:
                operation["security"] = []
            else:
                codes += ["401", "403"]
            if "{" in path:
                codes.append("404")
            if operation.get("parameters") or operation.get("requestBody"):
                codes.append("422")
            if operation.get("requestBody"):
                codes += ["400", "413"]
            for code in codes:
                responses.setdefault(code, _error_response(_REFUSALS[code]))
            for code, response in responses.items():
                if code.startswith(("4", "5")) and not {"content", "$ref"} & set(response):
                    response["content"] = _error_response("")["content"]
            if (path, method) in public and "429" in responses:
                responses["429"].setdefault("headers", {})["Retry-After"] = {
                    "schema": {"type": "string"}
                }


def openapi_document(app: Flask | None = None) -> dict[str, Any]:
    app = app or current_app
    if _KEY not in app.extensions:
        app.extensions[_KEY] = _build(app)
    return deepcopy(app.extensions[_KEY])


def _openapi():
    response = jsonify(openapi_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


#: Added as a plain Flask rule, so the document does not describe itself.
FlaskBlueprint.add_url_rule(bp, "/openapi.json", endpoint="openapi", view_func=_openapi)
