"""What every editor action shares: read the current version, save a new one, and turn a
refusal into a message next to the right field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import flash
from flask_wtf import FlaskForm

from web import rendering
from web.database import db
from web.owners.forms import VersionedForm
from web.security import current_user
from workflow import model as engine
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.services.errors import InvalidInput, VersionConflict
from workflow.services.processes import save_version

__all__ = ["Outcome", "conflict", "current", "refuse", "save", "save_change", "stale"]


def current(row: t.Process) -> tuple[t.ProcessVersion, repo.ParsedVersion]:
    """The version in use and its parsed process."""
    version = repo.current_version(db(), row)
    return version, repo.parse_document(version.document)


def save(
    row: t.Process, process: engine.Process, summary: str, base_version: int
) -> t.ProcessVersion:
    """Store ``process`` as the next version, commit, and tell the user what happened."""
    saved = save_version(
        db(),
        row,
        process,
        author_id=current_user().id,
        summary=summary,
        base_version=base_version,
        renderer=rendering.renderer(),
        step_url=rendering.step_url,
    )
    db().commit()
    if saved.problems:
        count = len(saved.problems.splitlines())
        flash(
            f"Saved as draft version {saved.number}: {summary}. {count} thing"
            f"{'s' if count != 1 else ''} still to fix (see the top of the editor).",
            "warning",
        )
    else:
        flash(f"Saved version {saved.number}: {summary}.", "success")
    return saved


def refuse(form: FlaskForm, exc: InvalidInput) -> None:
    """Show a refusal next to the field it names, else at the top of the form."""
    field = form._fields.get(exc.field) if exc.field else None
    if field is not None and exc.field != "base_version":
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


def conflict(form: VersionedForm, exc: VersionConflict) -> None:
    """Keep what the user typed, say why it was not saved, and let a resend apply it on top of
    the newest version."""
    form.form_errors.append(
        f"{exc} What you entered is kept below: check the current version (open the editor in "
        "another tab), then save again to apply it on top of it."
    )
    form.rebase(exc.current)


def stale(form: VersionedForm, row: t.Process) -> bool:
    """True (and the form says so) when a sent form was rendered from an older version.

    Checked before the fields, because the form's choices (steps, flows) may no longer exist
    in the newer version; what the user typed is kept either way.
    """
    if not form.is_submitted() or form.base_version.data in (None, row.current_version):
        return False
    conflict(form, VersionConflict(form.base_version.data, row.current_version))
    return True


#: Builds the changed process and the summary of its version; raises InvalidInput to refuse.
Change = Callable[[], tuple[engine.Process, str]]


@dataclass(frozen=True)
class Outcome:
    """How an editing form ended: saved (the view redirects, hence 302) or not, with the HTTP
    status the view shows the form again with."""

    saved: bool
    status: int


def save_change(form: VersionedForm, row: t.Process, change: Change) -> Outcome:
    """The one way every editing form is saved, so each view only says what it changes.

    A form rendered from an older version is refused before its fields are read (409). A valid
    form runs ``change`` and saves its result as a new version; a refusal is shown next to its
    field (422) and a save that lost a race keeps the input for a resend (409). A form that was
    not sent, or not valid, is shown again (200, or 422 with its errors).
    """
    if stale(form, row):
        return Outcome(saved=False, status=409)
    if form.validate_on_submit():
        try:
            changed, summary = change()
            save(row, changed, summary, form.base_version.data)
        except InvalidInput as exc:
            refuse(form, exc)
        except VersionConflict as exc:
            conflict(form, exc)
            return Outcome(saved=False, status=409)
        else:
            return Outcome(saved=True, status=302)
    return Outcome(saved=False, status=422 if form.errors else 200)
