"""Processes: list, create, read, update as a new version, delete; versions, steps and flows.

A process's ETag is its current version number; an update names the version it starts from
(``base_version`` in the body or ``If-Match``), and a save on top of someone else's is refused
with 409 (or 412 for a stale If-Match), never merged.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from sqlalchemy import func, select

from web.api.auth import ALL, OWNERS, api_user, roles
from web.api.blueprint import bp, fail
from web.api.documents import document_data, from_document, from_yaml
from web.api.paging import page
from web.api.schemas import (
    FlowListSchema,
    PageArgsSchema,
    ProcessCreateSchema,
    ProcessListArgsSchema,
    ProcessPageSchema,
    ProcessSchema,
    ProcessUpdateSchema,
    StepListSchema,
    StepOutSchema,
    VersionPageSchema,
    VersionSchema,
)
from web.database import db
from web.rendering import renderer, step_url
from web.security import process_or_404
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.services import processes, signals
from workflow.services.errors import InvalidInput, VersionConflict
from workflow.vocabulary import Perspective

__all__ = ["etag", "summary"]


def etag(row: t.Process) -> str:
    return f'"v{row.current_version}"'


def summary(row: t.Process) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "name": row.name,
        "perspective": row.perspective,
        "version": row.current_version,
        "updated_at": row.updated_at,
        "links": {
            "self": url_for("api.process", process_id=row.id),
            "versions": url_for("api.versions", process_id=row.id),
            "steps": url_for("api.steps", process_id=row.id),
            "flows": url_for("api.flows", process_id=row.id),
            "render": url_for("api.render", process_id=row.id),
        },
    }


def _full(row: t.Process) -> dict[str, Any]:
    current = repo.current_version(db(), row)
    problems = [line for line in current.problems.splitlines() if line]
    feedback = (
        url_for("public.journey", token=row.public_token, _external=True)
        if row.public_token and row.perspective == Perspective.CUSTOMER_JOURNEY.value
        else None
    )
    return summary(row) | {
        "valid": not problems,
        "problems": problems,
        "feedback_url": feedback,
        "document": document_data(current.document),
    }


def _with_etag(row: t.Process, data: dict[str, Any], status: int = 200, **headers: str):
    return data, status, {"ETag": etag(row), **headers}


def _invalid(exc: InvalidInput, prefix: str = "") -> None:
    field = f"{prefix}{exc.field}" if exc.field else prefix.rstrip(".") or "body"
    detail = str(exc)
    if exc.problems:
        detail += " " + " ".join(exc.problems[:20])
    fail(422, str(exc), fields={field: detail})


@bp.route("/processes", methods=["GET"])
@roles(*ALL)
@bp.arguments(ProcessListArgsSchema, location="query")
@bp.response(200, ProcessPageSchema)
def processes_list(args: dict):
    """The organisation's processes, journeys first, by name."""
    user = api_user()
    query = select(t.Process).where(t.Process.org_id == user.org_id)
    if args.get("perspective"):
        query = query.where(t.Process.perspective == args["perspective"])
    total = db().scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db().scalars(
        query.order_by(t.Process.perspective, func.lower(t.Process.name), t.Process.id)
        .offset(args["offset"])
        .limit(args["limit"])
    )
    return page([summary(r) for r in rows], total, args["limit"], args["offset"])


@bp.route("/processes", methods=["POST"])
@roles(*OWNERS)
@bp.arguments(ProcessCreateSchema)
@bp.response(201, ProcessSchema, headers={"ETag": {"schema": {"type": "string"}}})
def process_create(data: dict):
    """Create a process at version 1: a start joined to an end, or the steps given."""
    user = api_user()
    content = None
    if data.get("steps") or data.get("flows"):
        content = from_document(
            {**data, "steps": data.get("steps") or [], "flows": data.get("flows") or []},
            data["key"],
        )
    try:
        row = processes.create_process(
            db(),
            user.org_id,
            user.id,
            key=data["key"],
            name=data["name"],
            perspective=Perspective(data["perspective"]),
            renderer=renderer(),
            step_url=step_url,
            process=content,
        )
    except InvalidInput as exc:
        _invalid(exc)
    db().commit()
    return _with_etag(row, _full(row), 201, Location=url_for("api.process", process_id=row.id))


@bp.route("/processes/<int:process_id>", methods=["GET"])
@roles(*ALL)
@bp.response(200, ProcessSchema, headers={"ETag": {"schema": {"type": "string"}}})
def process(process_id: int):
    """The current version: name, lanes, steps and flows, with its version number as ETag."""
    row = process_or_404(process_id)
    return _with_etag(row, _full(row))


def _base_version(row: t.Process, given: int | None) -> int:
    match = request.headers.get("If-Match")
    if match is not None:
        tags = [tag.strip() for tag in match.split(",")]
        if "*" not in tags and etag(row) not in tags:
            fail(
                412,
                f"The process is now at version {row.current_version} ({etag(row)}); "
                "read it again and redo your change.",
                code="version_conflict",
            )
        return row.current_version if given is None else given
    if given is None:
        fail(
            428,
            "Say which version your change starts from: base_version, or If-Match with the "
            "ETag you read.",
            code="base_version_required",
            fields={"base_version": "Required unless If-Match is sent."},
        )
    return given


@bp.route("/processes/<int:process_id>", methods=["PUT"])
@roles(*OWNERS)
@bp.arguments(ProcessUpdateSchema)
@bp.response(200, ProcessSchema, headers={"ETag": {"schema": {"type": "string"}}})
@bp.alt_response(409, description="A newer version was saved since base_version.")
@bp.alt_response(412, description="If-Match names an older version.")
@bp.alt_response(428, description="Neither base_version nor If-Match was sent.")
def process_update(data: dict, process_id: int):
    """Save a whole new version (JSON ``process`` or a ``yaml`` model file with one process)."""
    row = process_or_404(process_id)
    base = _base_version(row, data.get("base_version"))
    if base != row.current_version:
        fail(409, str(VersionConflict(base, row.current_version)), code="version_conflict")
    content = (
        from_document(data["process"], row.key) if "process" in data else from_yaml(data["yaml"])
    )
    try:
        processes.save_version(
            db(),
            row,
            content,
            author_id=api_user().id,
            summary=data.get("summary") or "Updated through the API",
            base_version=base,
            renderer=renderer(),
            step_url=step_url,
        )
    except VersionConflict as exc:
        fail(409, str(exc), code="version_conflict")
    db().commit()
    return _with_etag(row, _full(row))


@bp.route("/processes/<int:process_id>", methods=["DELETE"])
@roles(*OWNERS)
@bp.response(204)
@bp.alt_response(412, description="If-Match names an older version.")
def process_delete(process_id: int):
    """Delete the process with its versions, links and signals."""
    row = process_or_404(process_id)
    if request.headers.get("If-Match") is not None:
        _base_version(row, None)
    processes.delete_process(db(), row, actor_id=api_user().id)
    db().commit()
    return current_app.response_class(status=204)


@bp.route("/processes/<int:process_id>/versions", methods=["GET"])
@roles(*OWNERS)
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, VersionPageSchema)
def versions(args: dict, process_id: int):
    """Every saved version, newest first."""
    row = process_or_404(process_id)
    scope = t.ProcessVersion.process_id == row.id
    total = db().scalar(select(func.count()).select_from(t.ProcessVersion).where(scope)) or 0
    found = (
        db()
        .execute(
            select(t.ProcessVersion, t.User.name)
            .outerjoin(t.User, t.User.id == t.ProcessVersion.author_id)
            .where(scope)
            .order_by(t.ProcessVersion.number.desc())
            .offset(args["offset"])
            .limit(args["limit"])
        )
        .all()
    )
    items = [_version(row, version, author) for version, author in found]
    return page(items, total, args["limit"], args["offset"])


def _version(row: t.Process, version: t.ProcessVersion, author: str | None) -> dict[str, Any]:
    return {
        "number": version.number,
        "summary": version.summary,
        "author": author,
        "created_at": version.created_at,
        "valid": not version.problems,
        "current": version.number == row.current_version,
    }


@bp.route("/processes/<int:process_id>/versions/<int:number>", methods=["GET"])
@roles(*OWNERS)
@bp.response(200, VersionSchema)
def version(process_id: int, number: int):
    """One saved version with its document."""
    row = process_or_404(process_id)
    found = repo.version(db(), row, number)
    if found is None:
        fail(404, f"There is no version {number} of this process.")
    author = db().get(t.User, found.author_id) if found.author_id else None
    return _version(row, found, author.name if author else None) | {
        "problems": [line for line in found.problems.splitlines() if line],
        "document": document_data(found.document),
    }


def _steps(row: t.Process) -> list[dict[str, Any]]:
    document = document_data(repo.current_version(db(), row).document)
    counts = signals.step_flag_counts(db(), row.id)
    empty = signals.FlagCounts()
    return [
        step
        | {
            "open_flags": {
                "staff": counts.get(step["id"], empty).staff,
                "customer": counts.get(step["id"], empty).customer,
            }
        }
        for step in document["steps"]
    ]


@bp.route("/processes/<int:process_id>/steps", methods=["GET"])
@roles(*ALL)
@bp.response(200, StepListSchema)
def steps(process_id: int):
    """The steps of the current version with their open flags by source."""
    row = process_or_404(process_id)
    return {"version": row.current_version, "items": _steps(row)}


@bp.route("/processes/<int:process_id>/steps/<step_id>", methods=["GET"])
@roles(*ALL)
@bp.response(200, StepOutSchema)
def step(process_id: int, step_id: str):
    """One step of the current version."""
    row = process_or_404(process_id)
    for item in _steps(row):
        if item["id"] == step_id:
            return item
    fail(404, "This process has no such step in its current version.")


@bp.route("/processes/<int:process_id>/flows", methods=["GET"])
@roles(*ALL)
@bp.response(200, FlowListSchema)
def flows(process_id: int):
    """The flows of the current version."""
    row = process_or_404(process_id)
    document = document_data(repo.current_version(db(), row).document)
    return {"version": row.current_version, "items": document["flows"]}
