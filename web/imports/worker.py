"""What an RQ worker runs: a queued job, with the web app's own configuration.

The worker builds the app once per process (``create_app()``), so a job draws its maps with
the same renderer as the web pages: the same layout, time limit and render cache (Redis when
``REDIS_URL`` is set, else ``LEANLANE_RENDER_CACHE_DIR``), and reaches the same database.
"""

from __future__ import annotations

from workflow.services import jobs

__all__ = ["TASK", "app_context", "perform"]

#: The function the web app queues for an RQ worker.
TASK = "web.imports.worker.perform"


def app_context() -> jobs.JobContext:
    """The job context of a freshly built app, as the web pages see it."""
    from web import create_app, database, rendering

    app = create_app()
    return jobs.JobContext(
        database.session_factory(app), rendering.renderer(app), rendering.STEP_URL
    )


def perform(job_id: int, step_url_template: str = jobs.DEFAULT_STEP_URL) -> str:
    """Run one queued job (called by ``rq worker``)."""
    return jobs.perform(job_id, step_url_template, make_context=app_context)
