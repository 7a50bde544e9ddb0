"""Diagrams of a process as SVG or PNG: the swimlane map, the pain heatmap and, for a
customer journey, the service blueprint. Drawn by ``workflow.render`` through the app's
renderer, whose disk cache is keyed by the diagram, so an unchanged diagram is never laid out
twice."""

from __future__ import annotations

from flask import current_app

from web.api.auth import ALL, READERS, api_user, roles
from web.api.blueprint import bp, fail
from web.api.review import measured
from web.api.schemas import RenderArgsSchema
from web.database import db
from web.rendering import renderer, step_url
from web.security import process_or_404
from workflow.adapters import repository as repo
from workflow.render import Diagram, RenderError, pain_heatmap, process_map, service_blueprint
from workflow.vocabulary import Perspective

#: Says how the diagram was drawn when it is not the layout asked for (e.g. the grid after
#: ``dot`` ran out of time).
NOTE_HEADER = "X-Leanlane-Render-Note"
MIMETYPES = {"svg": "image/svg+xml", "png": "image/png"}

_IMAGE = {
    "200": {
        "description": "The diagram.",
        "content": {
            "image/svg+xml": {"schema": {"type": "string"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _link(row_id: int):
    return lambda _process, step: step_url(row_id, step)


@bp.route("/processes/<int:process_id>/render", methods=["GET"])
@roles(*ALL)
@bp.arguments(RenderArgsSchema, location="query")
@bp.doc(responses=_IMAGE)
def render(args: dict, process_id: int):
    """The process's map (everyone), heatmap (reviewers, owners) or service blueprint
    (journeys) as SVG or PNG."""
    row = process_or_404(process_id)
    view = args["view"]
    if view == "heatmap" and api_user().role not in READERS:
        fail(403, "The heatmap shows review figures; your role does not include them.")
    parsed = repo.parse_document(repo.current_version(db(), row).document)
    link = _link(row.id)
    diagram: Diagram
    if view == "map":
        diagram = process_map(parsed.process, link=link)
    elif view == "heatmap":
        diagram = pain_heatmap(parsed.process, measured(row), link=link)
    else:
        if row.perspective != Perspective.CUSTOMER_JOURNEY.value:
            fail(
                422,
                "A service blueprint starts from a customer journey; this is an employee process.",
                fields={"view": "Choose map or heatmap for an employee process."},
            )
        if not parsed.valid:
            fail(422, "The current version has problems to fix before its blueprint is drawn.")
        model, rows = repo.build_model(db(), api_user().organisation, signals=False)
        key = next((k for k, r in rows.items() if r.id == row.id), None)
        if key is None:
            fail(422, "This journey cannot be drawn as a blueprint yet.")
        diagram = service_blueprint(
            model, key, link=lambda process, step: step_url(_row_id(rows, process), step)
        )
    try:
        drawn = renderer().render(diagram, args["format"])
    except (RenderError, ValueError, KeyError) as exc:
        fail(422, f"This diagram could not be drawn: {exc}", code="not_drawable")
    response = current_app.response_class(drawn.data, mimetype=MIMETYPES[args["format"]])
    response.headers["Cache-Control"] = "private, max-age=60"
    if drawn.notes:
        response.headers[NOTE_HEADER] = _header_text("; ".join(drawn.notes))
    return response


def _header_text(text: str) -> str:
    """A note fit for a header: one line of printable ASCII."""
    return "".join(c if " " <= c <= "~" else " " for c in text)[:300]


def _row_id(rows, process_key: str) -> int:
    found = rows.get(process_key)
    return found.id if found is not None else 0
