"""Process-level pages: create, import, export, the editor itself, properties, service-blueprint
links, members and deleting a process."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectChoice

from web import rendering
from web.database import db
from web.owners import bp, queries
from web.owners.choices import default_place, lane_choices, place_choices, step_choices
from web.owners.forms import (
    KIND_WORDS,
    LANE_KIND_WORDS,
    LAYER_WORDS,
    PERSPECTIVE_WORDS,
    DeleteProcessForm,
    FlowForm,
    ImportForm,
    LaneForm,
    LinksForm,
    MemberForm,
    NewProcessForm,
    PropertiesForm,
    StepForm,
)
from web.owners.problems import fixes
from web.owners.saving import current, refuse, save_change
from web.security import current_user, org_user_or_404, process_or_404, roles_required
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.interchange import bpmn_export
from workflow.services import editing, members, processes
from workflow.services.errors import InvalidInput
from workflow.vocabulary import Perspective
from workflow.yaml_format import MAX_FILE_BYTES

OWNER = roles_required("owner")


def _editor_url(row: t.Process) -> str:
    return url_for("owners.editor", process_id=row.id)


# --- create and import ------------------------------------------------------------------------
@bp.route("/processes/new", methods=["GET", "POST"])
@OWNER
def new():
    user = current_user()
    form = NewProcessForm()
    if form.validate_on_submit():
        taken = db().scalars(select(t.Process.key).where(t.Process.org_id == user.org_id))
        try:
            row = processes.create_process(
                db(),
                user.org_id,
                user.id,
                key=form.chosen_key(taken),
                name=form.name.data or "",
                perspective=Perspective(form.perspective.data),
                renderer=rendering.renderer(),
                step_url=rendering.step_url,
            )
        except InvalidInput as exc:
            refuse(form, exc)
        else:
            db().commit()
            flash(f"Created {row.name}. Add its steps below.", "success")
            return redirect(_editor_url(row))
    return render_template("owners/new.html", form=form), 422 if form.errors else 200


@bp.route("/processes/import", methods=["GET", "POST"])
@OWNER
def import_model():
    user = current_user()
    form = ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.stream.read(MAX_FILE_BYTES + 1)
        filename = (upload.filename or "upload.yaml").rsplit("/", 1)[-1][:100]
        try:
            if len(data) > MAX_FILE_BYTES:
                raise InvalidInput(
                    f"The file is larger than the {MAX_FILE_BYTES // 1024**2} MiB limit.", "file"
                )
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput("The file is not UTF-8 text.", "file") from None
            rows = processes.import_model(
                db(),
                user.org_id,
                user.id,
                text,
                source=filename,
                renderer=rendering.renderer(),
                step_url=rendering.step_url,
            )
        except InvalidInput as exc:
            refuse(form, exc)
            problems = exc.problems
        else:
            db().commit()
            names = ", ".join(row.name for row in rows)
            flash(
                f"Imported {len(rows)} process{'es' if len(rows) != 1 else ''}: {names}.", "success"
            )
            if len(rows) == 1:
                return redirect(_editor_url(rows[0]))
            return redirect(url_for("home.processes"))
    status = 422 if form.errors else 200
    return render_template(
        "owners/import.html", form=form, problems=problems, limit=MAX_FILE_BYTES // 1024**2
    ), status


def _yaml_download(text: str, filename: str) -> Response:
    return Response(
        text,
        mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/processes/export.yaml")
@OWNER
def export_organisation():
    user = current_user()
    text = processes.export_organisation(db(), user.organisation)
    return _yaml_download(text, f"{user.organisation.slug}.yaml")


@bp.get("/processes/<int:process_id>/export.yaml")
@OWNER
def export(process_id: int):
    row = process_or_404(process_id)
    number = request.args.get("version", type=int) or row.current_version
    try:
        text = processes.export_process(db(), row, number)
    except InvalidInput:
        abort(404)
    return _yaml_download(text, f"{row.key}-v{number}.yaml")


@bp.get("/processes/<int:process_id>/export.bpmn")
@OWNER
def export_bpmn(process_id: int):
    """The version as BPMN 2.0 with its diagram, to open in another modeller."""
    row = process_or_404(process_id)
    number = request.args.get("version", type=int) or row.current_version
    version = repo.version(db(), row, number)
    if version is None:
        abort(404)
    data = bpmn_export.export_bpmn(repo.parse_document(version.document).process)
    return Response(
        data,
        mimetype="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{row.key}-v{number}.bpmn"'},
    )


# --- the editor -------------------------------------------------------------------------------
def _step_form(process, base_version: int) -> StepForm:
    form = StepForm(base_version=base_version, place=default_place(process))
    form.lane.choices = lane_choices(process)
    form.place.choices = place_choices(process)
    return form


def _flow_form(process, base_version: int) -> FlowForm:
    form = FlowForm(base_version=base_version)
    form.source.choices = step_choices(process, "Choose a step")
    form.target.choices = step_choices(process, "Choose a step")
    return form


def _properties_form(process, base_version: int) -> PropertiesForm:
    return PropertiesForm(
        base_version=base_version,
        name=process.name,
        perspective=process.perspective.value,
        volume=process.volume,
        description=process.description,
    )


def _member_form(row: t.Process) -> MemberForm:
    form = MemberForm()
    form.user.choices = [SelectChoice("", "Choose a person")] + [
        SelectChoice(str(user.id), f"{user.name} ({user.email})")
        for user in queries.selectable_people(db(), row)
    ]
    return form


def editor_page(row: t.Process, **forms):
    """The editor with its forms; a form given in ``forms`` replaces the blank one."""
    session = db()
    version, parsed = current(row)
    process = parsed.process
    steps_per_lane: dict[str | None, int] = {}
    for step in process.steps():
        steps_per_lane[step.lane] = steps_per_lane.get(step.lane, 0) + 1
    context = {
        "row": row,
        "version": version,
        "process": process,
        "fixes": fixes(process, parsed.problems),
        "lanes": process.lane_map(),
        "steps_per_lane": steps_per_lane,
        "links": queries.journey_links(session, row) if process.is_journey else {},
        "serves": {} if process.is_journey else queries.serves(session, row),
        "members": queries.members(session, row),
        "step_form": forms.get("step_form") or _step_form(process, row.current_version),
        "flow_form": forms.get("flow_form") or _flow_form(process, row.current_version),
        "lane_form": forms.get("lane_form") or LaneForm(base_version=row.current_version),
        "properties_form": forms.get("properties_form")
        or _properties_form(process, row.current_version),
        "member_form": forms.get("member_form") or _member_form(row),
        "kind_words": KIND_WORDS,
        "layer_words": LAYER_WORDS,
        "lane_kind_words": LANE_KIND_WORDS,
        "perspective_words": PERSPECTIVE_WORDS,
    }
    return render_template("owners/editor.html", **context)


@bp.get("/processes/<int:process_id>/edit")
@OWNER
def editor(process_id: int):
    return editor_page(process_or_404(process_id))


@bp.route("/processes/<int:process_id>/edit/properties", methods=["GET", "POST"])
@OWNER
def properties(process_id: int):
    row = process_or_404(process_id)
    _version, parsed = current(row)
    process = parsed.process
    form = _properties_form(process, row.current_version)

    def change():
        changed = editing.update_properties(
            process,
            name=form.name.data or "",
            description=form.description.data or "",
            volume=form.volume.data or 0.0,
            perspective=Perspective(form.perspective.data),
        )
        what = editing.compare(process, changed).properties
        return changed, f"Changed process {', '.join(c.label for c in what) or 'nothing'}"

    outcome = save_change(form, row, change)
    if outcome.saved:
        return redirect(_editor_url(row))
    return render_template("owners/properties.html", row=row, form=form), outcome.status


# --- service blueprint links ------------------------------------------------------------------
@bp.route("/processes/<int:process_id>/edit/links/<step_id>", methods=["GET", "POST"])
@OWNER
def links(process_id: int, step_id: str):
    row = process_or_404(process_id)
    _version, parsed = current(row)
    process = parsed.process
    if not process.is_journey or step_id not in process:
        abort(404)
    session = db()
    options = queries.employee_steps(session, row.org_id)
    rows = {str(other.id): other for other, _ in options}
    form = LinksForm()
    form.served.choices = [
        SelectChoice(f"{other.id}:{sid}", f"{name} ({sid})", optgroup=other.name)
        for other, steps in options
        for sid, name in steps
    ]
    if request.method == "GET":
        form.served.data = [
            link["value"] for link in queries.journey_links(session, row).get(step_id, [])
        ]
    if form.validate_on_submit():
        served = []
        for value in form.served.data or []:
            other_id, served_step = value.split(":", 1)
            served.append((rows[other_id], served_step))
        processes.set_links(session, row, step_id, served, actor_id=current_user().id)
        session.commit()
        step_name = process.step(step_id).name
        flash(f"Saved the {len(served)} step(s) that serve “{step_name}”.", "success")
        return redirect(_editor_url(row) + "#steps")
    return render_template(
        "owners/links.html",
        row=row,
        step=process.step(step_id),
        form=form,
        options=options,
    ), 422 if form.errors else 200


# --- members ----------------------------------------------------------------------------------
@bp.post("/processes/<int:process_id>/edit/members")
@OWNER
def add_member(process_id: int):
    row = process_or_404(process_id)
    form = _member_form(row)
    if form.validate_on_submit():
        person = org_user_or_404(int(form.user.data))
        try:
            members.add_member(db(), row, person, actor_id=current_user().id)
        except InvalidInput as exc:
            refuse(form, exc)
        else:
            db().commit()
            flash(f"{person.name} now works in {row.name}.", "success")
            return redirect(_editor_url(row) + "#members")
    return editor_page(row, member_form=form), 422


@bp.post("/processes/<int:process_id>/edit/members/<int:user_id>/remove")
@OWNER
def remove_member(process_id: int, user_id: int):
    row = process_or_404(process_id)
    person = org_user_or_404(user_id)
    members.remove_member(db(), row, person, actor_id=current_user().id)
    db().commit()
    flash(f"{person.name} no longer works in {row.name}.", "success")
    return redirect(_editor_url(row) + "#members")


# --- delete -----------------------------------------------------------------------------------
@bp.route("/processes/<int:process_id>/delete", methods=["GET", "POST"])
@OWNER
def delete(process_id: int):
    row = process_or_404(process_id)
    form = DeleteProcessForm()
    if form.validate_on_submit():
        name = row.name
        processes.delete_process(db(), row, actor_id=current_user().id)
        db().commit()
        flash(f"Deleted {name} with its history and signals.", "success")
        return redirect(url_for("home.processes"))
    impact = queries.delete_impact(db(), row)
    return render_template(
        "owners/delete.html", row=row, form=form, impact=impact
    ), 422 if form.errors else 200
