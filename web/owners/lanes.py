"""Lanes (the actors of a process): add, edit, and delete after saying where their steps go."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from wtforms import SelectChoice

from web.owners import bp
from web.owners.forms import DeleteLaneForm, LaneForm
from web.owners.saving import current, save_change
from web.security import process_or_404, roles_required
from workflow.services import editing

OWNER = roles_required("owner")


def _back(row) -> str:
    return url_for("owners.editor", process_id=row.id) + "#lanes"


@bp.route("/processes/<int:process_id>/edit/lanes/new", methods=["GET", "POST"])
@OWNER
def add_lane(process_id: int):
    row = process_or_404(process_id)
    _version, parsed = current(row)
    process = parsed.process
    form = LaneForm(base_version=row.current_version)

    def change():
        lane = form.lane(lane.id for lane in process.lanes)
        return editing.add_lane(process, lane), f"Added lane {lane.name}"

    outcome = save_change(form, row, change)
    if outcome.saved:
        return redirect(_back(row))
    return render_template("owners/lane_form.html", row=row, form=form, lane=None), outcome.status


@bp.route("/processes/<int:process_id>/edit/lanes/<lane_id>", methods=["GET", "POST"])
@OWNER
def edit_lane(process_id: int, lane_id: str):
    row = process_or_404(process_id)
    _version, parsed = current(row)
    process = parsed.process
    old = process.lane(lane_id)
    if old is None:
        abort(404)
    form = LaneForm(base_version=row.current_version)
    if request.method == "GET":
        form.fill(old)

    def change():
        lane = form.lane(other.id for other in process.lanes if other.id != lane_id)
        return editing.update_lane(process, lane_id, lane), f"Changed lane {lane.name}"

    outcome = save_change(form, row, change)
    if outcome.saved:
        return redirect(_back(row))
    return render_template("owners/lane_form.html", row=row, form=form, lane=old), outcome.status


@bp.route("/processes/<int:process_id>/edit/lanes/<lane_id>/delete", methods=["GET", "POST"])
@OWNER
def delete_lane(process_id: int, lane_id: str):
    row = process_or_404(process_id)
    _version, parsed = current(row)
    process = parsed.process
    lane = process.lane(lane_id)
    if lane is None:
        abort(404)
    steps = [step for step in process.steps() if step.lane == lane_id]
    form = DeleteLaneForm(base_version=row.current_version)
    form.move_to.choices = [SelectChoice("", "No lane")] + [
        SelectChoice(other.id, f"{other.name} ({other.id})")
        for other in process.lanes
        if other.id != lane_id
    ]

    def change():
        changed = editing.delete_lane(process, lane_id, form.move_to.data or None)
        return changed, f"Deleted lane {lane.name}"

    outcome = save_change(form, row, change)
    if outcome.saved:
        return redirect(_back(row))
    return render_template(
        "owners/delete_lane.html", row=row, lane=lane, steps=steps, form=form
    ), outcome.status
