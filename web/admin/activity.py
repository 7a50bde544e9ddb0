"""The organisation's audit trail for admins: who changed what, newest first, filtered by
person, kind of action and process, on a page or as a CSV download."""

from __future__ import annotations

from flask import Response, render_template, request

from web.admin.views import bp
from web.database import db
from web.security import current_user, org_user_or_404, process_or_404, roles_required
from workflow.services import audit

__all__ = ["activity", "activity_csv"]


def _chosen() -> audit.ActivityFilter:
    """The filter the query string asks for; another organisation's person or process is not
    found, and an unknown action or malformed value is ignored."""
    person = request.args.get("person", "")
    if person.isdigit():
        person = str(org_user_or_404(int(person)).id)
    elif person != audit.NOBODY:
        person = ""
    action = request.args.get("action", "")
    if action not in audit.ACTIONS and action not in audit.AREAS:
        action = ""
    process = request.args.get("process", "")
    process_id = process_or_404(int(process)).id if process.isdigit() else None
    return audit.ActivityFilter(person=person, action=action, process_id=process_id)


def _query_values(chosen: audit.ActivityFilter) -> dict[str, str | int]:
    values: dict[str, str | int] = {"person": chosen.person, "action": chosen.action}
    if chosen.process_id is not None:
        values["process"] = chosen.process_id
    return {key: value for key, value in values.items() if value != ""}


@bp.get("/activity")
@roles_required("admin")
def activity():
    chosen = _chosen()
    page = request.args.get("page", "1")
    org_id = current_user().org_id
    listing = audit.activity_page(db(), org_id, chosen, int(page) if page.isdigit() else 1)
    return render_template(
        "admin/activity.html",
        listing=listing,
        chosen=chosen,
        values=_query_values(chosen),
        choices=audit.filter_choices(db(), org_id),
        actions=audit.ACTIONS,
        areas=audit.AREAS,
        nobody=audit.NOBODY,
        details_of=audit.details_of,
    )


@bp.get("/activity.csv")
@roles_required("admin")
def activity_csv():
    text = audit.activity_csv(db(), current_user().org_id, _chosen())
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="activity.csv"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
