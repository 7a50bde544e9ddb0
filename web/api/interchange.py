"""Processes in and out as files: YAML model files and BPMN 2.0, both synchronous and size
limited (a file the size of the limit imports in a few seconds)."""

from __future__ import annotations

from flask import current_app, url_for

from web.api.auth import OWNERS, api_user, roles
from web.api.blueprint import bp, fail
from web.api.processes import summary
from web.api.schemas import ExportArgsSchema, ImportResultSchema, ImportSchema
from web.database import db
from web.rendering import renderer, step_url
from web.security import process_or_404
from workflow.adapters import repository as repo
from workflow.errors import ModelError
from workflow.interchange.bpmn_export import export_bpmn
from workflow.interchange.bpmn_import import import_bpmn
from workflow.services import processes
from workflow.services.errors import InvalidInput
from workflow.yaml_format import MAX_FILE_BYTES, dumps_model

_FILES = {
    "200": {
        "description": "The file.",
        "content": {
            "application/yaml": {
                "schema": {"type": "object", "description": "A Leanlane model file."}
            },
            "application/xml": {"schema": {"type": "string"}},
        },
    }
}


@bp.route("/processes/<int:process_id>/export", methods=["GET"])
@roles(*OWNERS)
@bp.arguments(ExportArgsSchema, location="query")
@bp.doc(responses=_FILES)
def export(args: dict, process_id: int):
    """A version (the current one by default) as a YAML model file or a BPMN 2.0 file laid out
    for modelling tools."""
    row = process_or_404(process_id)
    number = args.get("version") or row.current_version
    found = repo.version(db(), row, number)
    if found is None:
        fail(404, f"There is no version {number} of this process.")
    if args["format"] == "yaml":
        data, mimetype, suffix = found.document.encode("utf-8"), "application/yaml", "yaml"
    else:
        parsed = repo.parse_document(found.document)
        if not parsed.valid:
            fail(422, "This version has problems to fix before it can be exported as BPMN.")
        data, mimetype, suffix = export_bpmn(parsed.process), "application/xml", "bpmn"
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{row.key}-v{number}.{suffix}"'
    return response


@bp.route("/processes/import", methods=["POST"])
@roles(*OWNERS)
@bp.arguments(ImportSchema)
@bp.response(201, ImportResultSchema)
@bp.alt_response(413, description="The file is over the 10 MiB limit.")
def import_file(data: dict):
    """Import a YAML model file or a BPMN 2.0 file: new process ids are created, known ones get
    a new version. Nothing is stored when anything in the file is wrong."""
    content = data["content"]
    if len(content.encode("utf-8")) > MAX_FILE_BYTES:
        fail(
            413,
            f"Files are limited to {MAX_FILE_BYTES // 1024**2} MiB.",
            fields={"content": "Too large."},
        )
    warnings: list[str] = []
    if data["format"] == "bpmn":
        try:
            read = import_bpmn(content.encode("utf-8"), "", name=data.get("name") or "")
        except ModelError as exc:
            fail(
                422,
                "The BPMN file could not be imported: " + str(exc),
                code="invalid_file",
                fields={"content": " ".join(str(p) for p in exc.problems[:20])},
            )
        content, source, warnings = dumps_model(read.model), "a BPMN file", list(read.warnings)
    else:
        source = "a YAML file"
    user = api_user()
    try:
        rows = processes.import_model(
            db(),
            user.org_id,
            user.id,
            content,
            source=source,
            renderer=renderer(),
            step_url=step_url,
        )
    except InvalidInput as exc:
        fail(
            422,
            str(exc),
            code="invalid_file",
            fields={"content": " ".join([str(exc), *exc.problems[:20]])},
        )
    db().commit()
    return (
        {"processes": [summary(r) for r in rows], "warnings": warnings},
        201,
        {"Location": url_for("api.processes_list")},
    )
