"""Adding flows and editing every way out of a step at once (so a decision's probabilities
can be moved between branches in one save)."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for

from web.owners import bp
from web.owners.choices import step_choices
from web.owners.forms import ExitsForm, FlowForm
from web.owners.saving import current, save_change
from web.security import process_or_404, roles_required
from workflow.services import editing

OWNER = roles_required("owner")
#: Empty rows offered under the existing ways out, to add new ones.
BLANK_EXITS = 2


def _back(row) -> str:
    return url_for("owners.editor", process_id=row.id) + "#flows"


@bp.route("/processes/<int:process_id>/edit/flows/new", methods=["GET", "POST"])
@OWNER
def add_flow(process_id: int):
    row = process_or_404(process_id)
    _version, parsed = current(row)
    process = parsed.process
    form = FlowForm(
        base_version=row.current_version,
        source=request.args.get("source", ""),
        target=request.args.get("target", ""),
    )
    form.source.choices = step_choices(process, "Choose a step")
    form.target.choices = step_choices(process, "Choose a step")

    def change():
        source, target = form.source.data or "", form.target.data or ""
        changed = editing.add_flow(process, source, target, form.flow())
        return changed, f"Added flow {process.step(source).name} → {process.step(target).name}"

    outcome = save_change(form, row, change)
    if outcome.saved:
        return redirect(_back(row))
    return render_template("owners/flow_form.html", row=row, form=form), outcome.status


@bp.route("/processes/<int:process_id>/edit/steps/<step_id>/exits", methods=["GET", "POST"])
@OWNER
def edit_exits(process_id: int, step_id: str):
    row = process_or_404(process_id)
    _version, parsed = current(row)
    process = parsed.process
    if step_id not in process:
        abort(404)
    step = process.step(step_id)
    existing = [
        {
            "target": target,
            "probability": process.flow(step_id, target).probability,
            "rework": process.flow(step_id, target).rework,
            "caption": process.flow(step_id, target).label,
        }
        for target in process.graph.succ[step_id]
    ]
    form = ExitsForm(base_version=row.current_version, exits=existing + [{}] * BLANK_EXITS)
    targets = step_choices(process, "Choose a step")
    for entry in form.exits:
        entry.target.choices = targets

    def change():
        changed = editing.set_exits(process, step_id, form.chosen())
        return changed, f"Changed the ways out of {step.name}"

    outcome = save_change(form, row, change)
    if outcome.saved:
        return redirect(_back(row))
    total = sum(
        entry.probability.data or 0.0
        for entry in form.exits
        if entry.target.data and not entry.remove.data
    )
    return render_template(
        "owners/exits.html", row=row, step=step, form=form, total=total
    ), outcome.status
