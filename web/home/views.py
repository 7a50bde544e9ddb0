from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from sqlalchemy import text

from web.database import db
from web.security import current_user, login_required
from web.templating import endpoint_url
from workflow.adapters import repository as repo
from workflow.services import members, signals

bp = Blueprint("home", __name__)

#: Where each role starts after logging in.
LANDING = {
    "staff": "home.processes",
    "owner": "home.processes",
    "reviewer": "review.index",
    "admin": "home.processes",
}


@bp.get("/")
def index():
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login"))
    return redirect(endpoint_url(LANDING.get(user.role, "")) or url_for("home.processes"))


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it on every page that names no icon (the public pages, error pages)."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/healthz")
def health():
    """For load balancers and monitors: the database answers and its schema is current."""
    revision = db().scalar(text("SELECT version_num FROM alembic_version"))
    return {"status": "ok", "schema": revision}


@bp.get("/processes")
@login_required
def processes():
    user = current_user()
    session = db()
    rows = repo.org_processes(session, user.org_id)
    open_flags = signals.open_flags_by_process(session, user.org_id)
    mine = members.processes_of(session, user)
    journeys = [r for r in rows if r.perspective == "customer_journey"]
    employee = [r for r in rows if r.perspective != "customer_journey"]
    employee.sort(key=lambda r: (r.id not in mine, r.name.lower()))
    return render_template(
        "home/processes.html",
        journeys=journeys,
        employee=employee,
        mine=mine,
        open_flags=open_flags,
        can_edit=user.role in ("owner", "admin"),
    )
