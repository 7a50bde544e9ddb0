"""Imports that run as background jobs: BPMN files, event logs and CSV step lists, each job's
progress page, and the CSV step-list export of a process."""

import os

from flask import Blueprint

from web import database, rendering
from web.imports.worker import TASK
from workflow.services.jobs import JobContext, RqRunner, make_runner
from workflow.services.stale_jobs import fail_stale, stale_after

bp = Blueprint("imports", __name__)
#: Where the app keeps its job runner (``app.extensions``).
RUNNER = "leanlane.jobs"
#: How long a job may go without a heartbeat before it counts as stopped (``app.extensions``).
STALE_AFTER = "leanlane.jobs.stale_after"


@bp.record_once
def _start_runner(state) -> None:
    """One runner per app: RQ when ``REDIS_URL`` is set (and rq installed), else threads."""
    app = state.app
    context = JobContext(database.session_factory(app), rendering.renderer(app), rendering.STEP_URL)
    redis_url = app.config.get("REDIS_URL") or os.environ.get("REDIS_URL")
    app.extensions[STALE_AFTER] = stale_after(app.config.get("JOB_STALE_AFTER"))
    app.extensions[RUNNER] = make_runner(
        context,
        redis_url,
        queue=app.config.get("JOB_QUEUE", "leanlane"),
        task=TASK,
    )


def job_queue(app) -> RqRunner | None:
    """The app's Redis queue when jobs go to RQ workers: where a stale check asks whether a
    queued job is still waiting (None when jobs run in-process)."""
    runner = app.extensions.get(RUNNER)
    return runner if isinstance(runner, RqRunner) else None


def fail_stale_jobs(app, session, **scope) -> list[int]:
    """:func:`workflow.services.stale_jobs.fail_stale` with the app's stale limit and queue
    (``scope``: ``org_id`` and/or ``job_ids``); the caller commits."""
    return fail_stale(
        session, limit=app.extensions[STALE_AFTER], queue=job_queue(app), **scope
    )


from web.imports import views  # noqa: E402

__all__ = ["RUNNER", "STALE_AFTER", "bp", "fail_stale_jobs", "job_queue", "views"]
