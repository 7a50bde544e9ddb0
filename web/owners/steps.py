"""Adding, editing, deleting and reordering steps; every save is a new version."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from web.database import db
from web.owners import bp
from web.owners.choices import default_place, lane_choices, parse_place, place_choices
from web.owners.forms import ConfirmForm, MoveForm, StepForm
from web.owners.saving import current, save, save_change, stale
from web.security import process_or_404, roles_required
from workflow.services import editing
from workflow.services.errors import InvalidInput, VersionConflict
from workflow.services.processes import rename_step_references

OWNER = roles_required("owner")


def _back(row, anchor: str = "steps") -> str:
    return url_for("owners.editor", process_id=row.id) + f"#{anchor}"


@bp.route("/processes/<int:process_id>/edit/steps/new", methods=["GET", "POST"])
@OWNER
def add_step(process_id: int):
    row = process_or_404(process_id)
    _version, parsed = current(row)
    process = parsed.process
    place = request.args.get("place") or default_place(process)
    form = StepForm(base_version=row.current_version, place=place)
    form.lane.choices = lane_choices(process)
    form.place.choices = place_choices(process)

    def change():
        step = form.step(process.graph)
        changed = editing.add_step(process, step, between=parse_place(form.place.data))
        return changed, f"Added step {step.name}"

    outcome = save_change(form, row, change)
    if outcome.saved:
        return redirect(_back(row))
    return render_template("owners/step_form.html", row=row, form=form, step=None), outcome.status


@bp.route("/processes/<int:process_id>/edit/steps/<step_id>", methods=["GET", "POST"])
@OWNER
def edit_step(process_id: int, step_id: str):
    row = process_or_404(process_id)
    _version, parsed = current(row)
    process = parsed.process
    if step_id not in process:
        abort(404)
    old = process.step(step_id)
    form = StepForm(base_version=row.current_version)
    del form.place
    form.lane.choices = lane_choices(process)
    if request.method == "GET":
        form.fill(old)

    def change():
        step = form.step(set(process.graph) - {step_id})
        changed = editing.update_step(process, step_id, step)
        words = ", ".join(c.label for c in editing.step_differences(old, step)) or "nothing"
        rename_step_references(db(), row, step_id, step.id)
        return changed, f"Changed step {step.name}: {words}"

    outcome = save_change(form, row, change)
    if outcome.saved:
        return redirect(_back(row))
    return render_template("owners/step_form.html", row=row, form=form, step=old), outcome.status


@bp.route("/processes/<int:process_id>/edit/steps/<step_id>/delete", methods=["GET", "POST"])
@OWNER
def delete_step(process_id: int, step_id: str):
    row = process_or_404(process_id)
    _version, parsed = current(row)
    process = parsed.process
    if step_id not in process:
        abort(404)
    step = process.step(step_id)
    form = ConfirmForm(base_version=row.current_version)
    refusal = ""
    try:
        changed = editing.delete_step(process, step_id)
    except InvalidInput as exc:
        changed, refusal = None, str(exc)
    reconnected = []
    if changed is None:
        status = 409 if stale(form, row) else 422 if request.method == "POST" else 200
    else:
        outcome = save_change(form, row, lambda: (changed, f"Deleted step {step.name}"))
        if outcome.saved:
            return redirect(_back(row))
        status = outcome.status
        new_flows = editing.compare(process, changed).flows_added
        reconnected = [(process.step(u).name, process.step(v).name, f) for u, v, f in new_flows]
    return render_template(
        "owners/delete_step.html",
        row=row,
        step=step,
        form=form,
        refusal=refusal,
        reconnected=reconnected,
        predecessors=[process.step(p).name for p in process.graph.pred[step_id]],
        successors=[process.step(s).name for s in process.graph.succ[step_id]],
    ), status


@bp.post("/processes/<int:process_id>/edit/steps/<step_id>/move")
@OWNER
def move_step(process_id: int, step_id: str):
    row = process_or_404(process_id)
    _version, parsed = current(row)
    process = parsed.process
    if step_id not in process:
        abort(404)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    offset = -1 if form.direction.data == "up" else 1
    name = process.step(step_id).name
    try:
        changed = editing.move_step(process, step_id, offset)
        save(row, changed, f"Moved step {name} {form.direction.data}", form.base_version.data)
    except InvalidInput as exc:
        flash(str(exc), "error")
    except VersionConflict as exc:
        flash(f"{exc} The list below shows the current version.", "error")
    return redirect(_back(row, f"step-{step_id}"))
