"""Upload a file to import, choose an event log's columns, follow the job, export a step list.

The upload route accepts bodies up to the event-log limit (100 MiB), above the app's 12 MiB
default; the limit is raised on this request only, before anything of the body is read, which
is why CSRF is checked here rather than before the view.
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from web.database import db
from web.extensions import csrf
from web.imports import RUNNER, bp, fail_stale_jobs
from web.imports.forms import UploadForm, log_options_form
from web.security import current_user, process_or_404, roles_required
from workflow.adapters import tables as t
from workflow.services import imports, jobs
from workflow.services.errors import InvalidInput

OWNER = roles_required("owner")
MIB = 1024**2
#: Multipart framing around the file (boundaries, the other fields) on top of the file itself.
FORM_OVERHEAD = 64 * 1024


def _runner() -> jobs.Runner:
    return current_app.extensions[RUNNER]


def _upload_limit() -> int:
    return int(current_app.config.get("IMPORT_UPLOAD_LIMIT", imports.MAX_EVENT_LOG_BYTES))


def _size(limit: int) -> str:
    return f"{limit / MIB:,.0f} MiB" if limit >= MIB else f"{max(1, limit // 1024)} KiB"


def _fail_stale(org_id: int, job_ids: list[int] | None = None) -> None:
    """Mark the organisation's jobs whose runner stopped, or whose Redis queue entry is gone,
    as failed, before showing them.

    Its own short transaction; when the database is busy (a running SQLite import holds the
    writer), the jobs are shown as they are and marked on the next look."""
    session = db()
    try:
        failed = fail_stale_jobs(current_app, session, org_id=org_id, job_ids=job_ids)
        session.commit()
    except OperationalError as exc:
        session.rollback()
        current_app.logger.warning("could not mark stopped jobs as failed: %s", exc)
        return
    if failed:
        current_app.logger.warning("jobs %s lost their runner; marked failed", failed)


def _job_or_404(job_id: int) -> t.Job:
    _fail_stale(current_user().org_id, [job_id])
    job = jobs.find_job(db(), current_user().org_id, job_id)
    if job is None:
        abort(404)
    return job


def _refuse(form, exc: InvalidInput) -> None:
    field = form._fields.get(exc.field) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


def _upload_page(form: UploadForm, status: int = 200):
    _fail_stale(current_user().org_id)
    recent = [
        (job, jobs.params_of(job).get("filename") or "upload")
        for job in imports.recent_jobs(db(), current_user().org_id)
    ]
    return render_template(
        "imports/upload.html",
        form=form,
        recent=recent,
        limits={kind: limit // MIB for kind, limit in imports.LIMITS.items()},
        upload_limit=_size(_upload_limit()),
        kinds=imports.KINDS,
    ), status


@bp.route("/processes/import/file", methods=["GET", "POST"])
@csrf.exempt
@OWNER
def upload():
    if request.method == "POST":
        request.max_content_length = _upload_limit() + FORM_OVERHEAD
        try:
            if current_app.config.get("WTF_CSRF_ENABLED", True):
                csrf.protect()
            form = UploadForm()
            submitted = form.validate_on_submit()
        except RequestEntityTooLarge:
            form = UploadForm(formdata=None)
            form.file.errors = [
                f"The file is larger than {_size(_upload_limit())}, the most this page "
                "accepts. Larger event logs can be read with 'leanlane discover' on the server."
            ]
            return _upload_page(form, 413)
        if submitted:
            upload = form.file.data
            user = current_user()
            try:
                job = imports.begin_import(
                    db(),
                    _runner(),
                    org_id=user.org_id,
                    user_id=user.id,
                    filename=upload.filename or "upload",
                    data=upload.stream.read(_upload_limit() + 1),
                    kind=None if form.kind.data == "auto" else form.kind.data,
                    name=form.name.data or "",
                    perspective=form.perspective.data or "",
                )
            except InvalidInput as exc:
                db().rollback()
                _refuse(form, exc)
            else:
                db().commit()
                if imports.awaits_options(job):
                    return redirect(url_for("imports.options", job_id=job.id))
                return redirect(url_for("imports.job", job_id=job.id))
        return _upload_page(form, 422)
    return _upload_page(UploadForm())


@bp.route("/jobs/<int:job_id>/options", methods=["GET", "POST"])
@OWNER
def options(job_id: int):
    job = _job_or_404(job_id)
    if not imports.awaits_options(job):
        return redirect(url_for("imports.job", job_id=job.id))
    params = jobs.params_of(job)
    try:
        preview = imports.log_preview(db(), job)
    except InvalidInput as exc:
        preview, problem = None, str(exc)
    else:
        problem = ""
    form = log_options_form(preview.header if preview else None, preview.guesses if preview else {})
    if not problem and form.validate_on_submit():
        try:
            imports.choose_log_options(
                db(),
                _runner(),
                job,
                columns=form.columns() if preview else {},
                keep=form.keep.data / 100,
                name=form.name.data or "",
                timestamp_format=form.timestamp_format.data or "",
            )
        except InvalidInput as exc:
            db().rollback()
            _refuse(form, exc)
        else:
            db().commit()
            return redirect(url_for("imports.job", job_id=job.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "imports/options.html",
        job=job,
        params=params,
        preview=preview,
        problem=problem,
        form=form,
        purposes=imports.COLUMN_PURPOSES,
    ), status


@bp.post("/jobs/<int:job_id>/cancel")
@OWNER
def cancel(job_id: int):
    job = _job_or_404(job_id)
    try:
        jobs.discard(db(), job)
    except jobs.JobFailed as exc:
        flash(exc.message, "warning")
        return redirect(url_for("imports.job", job_id=job.id))
    db().commit()
    flash("The import was cancelled and its file removed.", "success")
    return redirect(url_for("imports.upload"))


@bp.post("/jobs/<int:job_id>/retry")
@OWNER
def retry(job_id: int):
    job = _job_or_404(job_id)
    try:
        jobs.retry(db(), _runner(), job)
    except jobs.JobFailed as exc:
        db().rollback()
        flash(exc.message, "warning")
        return redirect(url_for("imports.job", job_id=job.id))
    db().commit()
    flash("The import starts again with the file you uploaded.", "success")
    return redirect(url_for("imports.job", job_id=job.id))


@bp.get("/jobs/<int:job_id>")
@OWNER
def job(job_id: int):
    found = _job_or_404(job_id)
    if imports.awaits_options(found):
        return redirect(url_for("imports.options", job_id=found.id))
    return render_template(
        "imports/job.html",
        job=found,
        params=jobs.params_of(found),
        result=jobs.result_of(found),
        kinds=imports.KINDS,
        errors=[line for line in found.error.splitlines()[1:] if line.strip()],
        can_retry=found.status == jobs.FAILED and jobs.file_kept(db(), found),
    )


@bp.get("/jobs/<int:job_id>.json")
@OWNER
def job_json(job_id: int):
    found = _job_or_404(job_id)
    status = jobs.status_of(found)
    status["url"] = url_for("imports.job", job_id=found.id)
    return jsonify(status)


@bp.get("/processes/<int:process_id>/export.csv")
@OWNER
def export_steps(process_id: int):
    row = process_or_404(process_id)
    text = imports.export_steps(db(), row)
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{row.key}.csv"',
            "X-Content-Type-Options": "nosniff",
        },
    )
