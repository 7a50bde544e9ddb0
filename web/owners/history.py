"""Version history: list, look at an old version, compare two, restore one as a new version."""

from __future__ import annotations

import difflib

from flask import abort, flash, redirect, render_template, request, url_for

from web import rendering
from web.database import db
from web.owners import bp, queries
from web.owners.forms import ConfirmForm
from web.owners.saving import conflict, stale
from web.security import current_user, process_or_404, roles_required
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.services import editing, processes
from workflow.services.errors import VersionConflict

OWNER = roles_required("owner")


def _version_or_404(row: t.Process, number: int) -> t.ProcessVersion:
    found = repo.version(db(), row, number)
    if found is None:
        abort(404)
    return found


@bp.get("/processes/<int:process_id>/history")
@OWNER
def history(process_id: int):
    row = process_or_404(process_id)
    page = queries.history_page(db(), row, request.args.get("page", 1, type=int))
    return render_template("owners/history.html", row=row, page=page)


@bp.get("/processes/<int:process_id>/history/<int:number>")
@OWNER
def version(process_id: int, number: int):
    row = process_or_404(process_id)
    found = _version_or_404(row, number)
    parsed = repo.parse_document(found.document)
    author = db().get(t.User, found.author_id) if found.author_id else None
    return render_template(
        "owners/version.html",
        row=row,
        version=found,
        process=parsed.process,
        problems=parsed.problems,
        author=author,
    )


@bp.get("/processes/<int:process_id>/compare")
@OWNER
def compare(process_id: int):
    row = process_or_404(process_id)
    newer = request.args.get("b", row.current_version, type=int)
    older = request.args.get("a", max(1, newer - 1), type=int)
    error = ""
    first = repo.version(db(), row, older)
    second = repo.version(db(), row, newer)
    changes, diff = None, []
    if first is None or second is None:
        error = f"Choose two versions from 1 to {row.current_version}."
    else:
        changes = editing.compare(
            repo.parse_document(first.document).process,
            repo.parse_document(second.document).process,
        )
        diff = list(
            difflib.unified_diff(
                first.document.splitlines(),
                second.document.splitlines(),
                fromfile=f"version {older}",
                tofile=f"version {newer}",
                lineterm="",
            )
        )
    return render_template(
        "owners/compare.html",
        row=row,
        older=older,
        newer=newer,
        first=first,
        second=second,
        changes=changes,
        diff=diff,
        error=error,
    ), 422 if error else 200


@bp.route("/processes/<int:process_id>/history/<int:number>/restore", methods=["GET", "POST"])
@OWNER
def restore(process_id: int, number: int):
    row = process_or_404(process_id)
    old = _version_or_404(row, number)
    form = ConfirmForm(base_version=row.current_version)
    status = 200
    if number == row.current_version:
        form.form_errors.append(f"Version {number} is already the current version.")
    elif stale(form, row):
        status = 409
    elif form.validate_on_submit():
        try:
            saved = processes.restore_version(
                db(),
                row,
                number,
                author_id=current_user().id,
                base_version=form.base_version.data,
                renderer=rendering.renderer(),
                step_url=rendering.step_url,
            )
        except VersionConflict as exc:
            conflict(form, exc)
            status = 409
        else:
            db().commit()
            flash(f"Restored version {number} as version {saved.number}.", "success")
            return redirect(url_for("owners.editor", process_id=row.id))
    current = repo.current_version(db(), row)
    changes = editing.compare(
        repo.parse_document(current.document).process, repo.parse_document(old.document).process
    )
    return render_template(
        "owners/restore.html", row=row, old=old, form=form, changes=changes
    ), status
