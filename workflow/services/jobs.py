"""Slow work outside the request: submit a job, run it, and read its progress from the database.

A job is a :class:`~workflow.adapters.tables.Job` row. :func:`submit` adds the row in the
caller's transaction and starts the job only once that transaction commits, so a job never runs
for an upload the request did not keep. Two runners start jobs:

- :class:`ThreadRunner`, the default: a small pool of threads inside the web process;
- :class:`RqRunner`, used when ``REDIS_URL`` is set and the ``rq`` package is installed (the
  ``redis`` extra): the job is queued in Redis and a separate ``rq worker`` runs
  :func:`perform`. If Redis cannot be reached when a job is queued, the job runs in-process
  instead and the log says so.

Both run :func:`run`, so a job behaves the same either way. The job's work happens in its own
transaction: if it raises, everything it wrote is rolled back and the row is marked ``failed``
with a message saying why, so a failed import leaves no half-imported process. Progress is
written in short transactions of its own, which is what lets a page show it while the job runs.
Job functions are registered per kind with :func:`job_kind`; they report progress before they
start writing, because on SQLite a writer holds the database until it commits.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from workflow.adapters import tables as t
from workflow.adapters.database import make_engine, make_session_factory
from workflow.render import DirectoryCache, Renderer

__all__ = [
    "JOB_MODULES",
    "JobContext",
    "JobFailed",
    "RqRunner",
    "Runner",
    "ThreadRunner",
    "Work",
    "discard",
    "discard_abandoned",
    "find_job",
    "job_by_id",
    "job_kind",
    "make_runner",
    "params_of",
    "perform",
    "recent_jobs",
    "result_of",
    "run",
    "start",
    "status_of",
    "submit",
    "use_worker_context",
]

log = logging.getLogger(__name__)

#: Modules whose job functions a worker must know; imported before a job runs.
JOB_MODULES = ("workflow.services.imports",)
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: An RQ job may take this long before RQ stops it (the job is then marked failed).
RQ_TIMEOUT_SECONDS = 3600
#: A job left waiting for its options (an event log's columns) is discarded after this long.
ABANDONED_AFTER = dt.timedelta(days=1)
DEFAULT_STEP_URL = "/processes/{process}/steps/{step}"
_PENDING = "leanlane.jobs.pending"


class JobFailed(Exception):
    """A job that cannot finish for a reason its user can act on; ``problems`` lists details."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)


@dataclass(frozen=True)
class JobContext:
    """What a job needs from where it runs: sessions, the diagram renderer, step links."""

    sessions: sessionmaker[Session]
    renderer: Renderer | None = None
    step_url_template: str = DEFAULT_STEP_URL

    def step_url(self, process_id: int, step_id: str) -> str:
        from urllib.parse import quote

        return self.step_url_template.format(process=process_id, step=quote(step_id, safe=""))


@dataclass
class Work:
    """A running job as its function sees it."""

    job_id: int
    org_id: int
    user_id: int | None
    kind: str
    params: dict[str, Any]
    session: Session
    context: JobContext
    _payload_read: bool = field(default=False, repr=False)

    def progress(self, fraction: float, message: str) -> None:
        """Record how far the job is, in a transaction of its own, so pages see it now."""
        with self.context.sessions() as session:
            session.execute(
                update(t.Job)
                .where(t.Job.id == self.job_id, t.Job.status == RUNNING)
                .values(progress=max(0.0, min(1.0, fraction)), message=message[:500])
            )
            session.commit()

    def payload(self) -> bytes:
        """The uploaded file; the row's copy is cleared once read (the job holds it now)."""
        with self.context.sessions() as session:
            data = session.scalar(select(t.Job.payload).where(t.Job.id == self.job_id))
            session.execute(update(t.Job).where(t.Job.id == self.job_id).values(payload=None))
            session.commit()
        self._payload_read = True
        return data or b""


JobFunction = Callable[[Work], dict[str, Any]]
_KINDS: dict[str, JobFunction] = {}


def job_kind(kind: str) -> Callable[[JobFunction], JobFunction]:
    """Register the function that runs jobs of ``kind``; it returns the job's result (JSON)."""

    def register(function: JobFunction) -> JobFunction:
        _KINDS[kind] = function
        return function

    return register


def _function(kind: str) -> JobFunction:
    if kind not in _KINDS:
        for module in JOB_MODULES:
            importlib.import_module(module)
    if kind not in _KINDS:
        raise JobFailed(f"This server does not know jobs of the kind {kind!r}.")
    return _KINDS[kind]


# --- submitting -------------------------------------------------------------------------------
class Runner(Protocol):
    """Starts a committed job somewhere; never raises for a job's own failure."""

    def start(self, job_id: int) -> None: ...


def submit(
    session: Session,
    runner: Runner | None,
    *,
    org_id: int,
    user_id: int | None,
    kind: str,
    params: dict[str, Any] | None = None,
    payload: bytes | None = None,
    message: str = "Waiting to start",
) -> t.Job:
    """A new job row; it starts when ``session`` commits. ``runner=None`` only records it (a job
    waiting for more options, started later with :func:`start`)."""
    _function(kind)
    job = t.Job(
        org_id=org_id,
        user_id=user_id,
        kind=kind,
        status=QUEUED,
        progress=0.0,
        message=message[:500],
        params=json.dumps(params or {}),
        payload=payload,
    )
    session.add(job)
    session.flush()
    if runner is not None:
        _start_after_commit(session, runner, job.id)
    return job


def start(session: Session, runner: Runner, job: t.Job, params: dict[str, Any]) -> t.Job:
    """Start a recorded job with its final ``params`` once ``session`` commits."""
    if job.status != QUEUED:
        raise JobFailed("This job has already run.")
    job.params = json.dumps(params)
    job.message = "Waiting to start"
    session.flush()
    _start_after_commit(session, runner, job.id)
    return job


def _start_after_commit(session: Session, runner: Runner, job_id: int) -> None:
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _start_pending)
        event.listen(session, "after_rollback", _forget_pending)
    pending.append((runner, job_id))


def _start_pending(session: Session) -> None:
    pending = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    for runner, job_id in pending:
        runner.start(job_id)


def _forget_pending(session: Session) -> None:
    session.info[_PENDING] = []


# --- running ----------------------------------------------------------------------------------
def _claim(context: JobContext, job_id: int) -> t.Job | None:
    """Mark the job running, unless it is gone or another worker has it already."""
    with context.sessions() as session:
        claimed = session.execute(
            update(t.Job)
            .where(t.Job.id == job_id, t.Job.status == QUEUED)
            .values(status=RUNNING, started_at=t.utcnow(), message="Starting")
        ).rowcount
        session.commit()
        return session.get(t.Job, job_id) if claimed == 1 else None


def _fail(context: JobContext, job_id: int, message: str, problems: list[str]) -> None:
    with context.sessions() as session:
        session.execute(
            update(t.Job)
            .where(t.Job.id == job_id)
            .values(
                status=FAILED,
                message=message[:500],
                error="\n".join([message, *problems]),
                payload=None,
                finished_at=t.utcnow(),
            )
        )
        session.commit()


def run(job_id: int, context: JobContext) -> str:
    """Run one job to its end and return its final status; the work is one transaction."""
    job = _claim(context, job_id)
    if job is None:
        return "skipped"
    session = context.sessions()
    try:
        function = _function(job.kind)
        work = Work(
            job_id=job.id,
            org_id=job.org_id,
            user_id=job.user_id,
            kind=job.kind,
            params=json.loads(job.params or "{}"),
            session=session,
            context=context,
        )
        result = function(work)
        session.execute(
            update(t.Job)
            .where(t.Job.id == job_id)
            .values(
                status=DONE,
                progress=1.0,
                message="Done",
                result=json.dumps(result),
                payload=None,
                finished_at=t.utcnow(),
            )
        )
        session.commit()
        return DONE
    except JobFailed as exc:
        session.rollback()
        _fail(context, job_id, exc.message, exc.problems)
    except Exception as exc:
        session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        _fail(
            context,
            job_id,
            f"The job stopped on an unexpected error ({type(exc).__name__}). Nothing was "
            "stored; please try again, and tell your administrator if it happens again.",
            [],
        )
    finally:
        session.close()
    return FAILED


class ThreadRunner:
    """Runs jobs on a few threads of this process (the default, and the fallback without
    Redis). Jobs queued when the process stops are lost with it; their rows stay ``queued``
    or ``running`` and the page says how long they have waited."""

    def __init__(self, context: JobContext, workers: int = 2) -> None:
        self.context = context
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="leanlane-job")
        self._futures: set[Future] = set()
        self._lock = threading.Lock()

    def start(self, job_id: int) -> None:
        future = self._pool.submit(run, job_id, self.context)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._futures.discard(future)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every started job has finished; False if ``timeout`` passed first."""
        with self._lock:
            futures = list(self._futures)
        _done, not_done = wait(futures, timeout=timeout)
        return not not_done

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


class RqRunner:
    """Queues jobs in Redis for ``rq worker`` processes (see ``docs/IMPORTS.md``)."""

    def __init__(
        self,
        redis_url: str,
        *,
        queue: str = "leanlane",
        fallback: Runner | None = None,
        step_url_template: str = DEFAULT_STEP_URL,
    ) -> None:
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url)
        self.queue = Queue(queue, connection=self.connection)
        self.fallback = fallback
        self.step_url_template = step_url_template

    def start(self, job_id: int) -> None:
        from redis.exceptions import RedisError

        try:
            self.queue.enqueue(
                "workflow.services.jobs.perform",
                job_id,
                self.step_url_template,
                job_timeout=RQ_TIMEOUT_SECONDS,
                result_ttl=0,
                failure_ttl=7 * 86_400,
                description=f"leanlane job {job_id}",
            )
        except RedisError as exc:
            if self.fallback is None:
                raise
            log.warning("Redis is unreachable (%s); running job %s in-process", exc, job_id)
            self.fallback.start(job_id)


def make_runner(
    context: JobContext, redis_url: str | None, *, queue: str = "leanlane"
) -> ThreadRunner | RqRunner:
    """RQ when ``redis_url`` is set and rq is installed, else the in-process runner."""
    threads = ThreadRunner(context)
    if not redis_url:
        return threads
    try:
        importlib.import_module("rq")
    except ImportError:
        log.warning(
            "REDIS_URL is set but rq is not installed (pip install 'leanlane[redis]'); "
            "running jobs in-process"
        )
        return threads
    return RqRunner(
        redis_url, queue=queue, fallback=threads, step_url_template=context.step_url_template
    )


# --- the RQ worker's side ---------------------------------------------------------------------
_worker_context: JobContext | None = None
_worker_lock = threading.Lock()


def use_worker_context(context: JobContext | None) -> None:
    """Set the sessions and renderer :func:`perform` uses (else they come from the
    environment: ``DATABASE_URL`` and ``LEANLANE_RENDER_CACHE_DIR``)."""
    global _worker_context
    with _worker_lock:
        _worker_context = context


def _environment_context() -> JobContext:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("the worker needs DATABASE_URL to reach Leanlane's database")
    cache = os.environ.get("LEANLANE_RENDER_CACHE_DIR") or str(
        Path(tempfile.gettempdir()) / "leanlane-renders"
    )
    limit = float(os.environ.get("LEANLANE_RENDER_TIME_LIMIT") or 20)
    return JobContext(
        make_session_factory(make_engine(url)),
        Renderer(cache=DirectoryCache(Path(cache)), time_limit=limit),
    )


def perform(job_id: int, step_url_template: str = DEFAULT_STEP_URL) -> str:
    """Run a queued job inside an RQ worker."""
    global _worker_context
    with _worker_lock:
        if _worker_context is None:
            _worker_context = _environment_context()
        context = _worker_context
    if context.step_url_template != step_url_template:
        context = JobContext(context.sessions, context.renderer, step_url_template)
    return run(job_id, context)


# --- reading ----------------------------------------------------------------------------------
def find_job(session: Session, org_id: int, job_id: int) -> t.Job | None:
    """The organisation's job; another organisation's id is not found."""
    return session.scalar(select(t.Job).where(t.Job.id == job_id, t.Job.org_id == org_id))


def recent_jobs(session: Session, *, org_id: int | None = None, limit: int = 20) -> list[t.Job]:
    """The newest jobs first, of one organisation or of all (for the operator's terminal)."""
    query = select(t.Job).order_by(t.Job.created_at.desc(), t.Job.id.desc()).limit(limit)
    if org_id is not None:
        query = query.where(t.Job.org_id == org_id)
    return list(session.scalars(query))


def job_by_id(session: Session, job_id: int) -> t.Job | None:
    """Any organisation's job, for the operator's terminal; pages use :func:`find_job`."""
    return session.get(t.Job, job_id)


def result_of(job: t.Job) -> dict[str, Any]:
    try:
        value = json.loads(job.result or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def params_of(job: t.Job) -> dict[str, Any]:
    try:
        value = json.loads(job.params or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def status_of(job: t.Job) -> dict[str, Any]:
    """What a progress bar needs, as JSON."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": round(job.progress or 0.0, 4),
        "message": job.message,
        "error": job.error,
        "finished": job.status in (DONE, FAILED),
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def discard(session: Session, job: t.Job) -> None:
    """Drop a job that never started (its user gave up before choosing its options)."""
    if job.status != QUEUED or job.started_at is not None:
        raise JobFailed("Only a job that has not started can be cancelled.")
    session.delete(job)
    session.flush()


def discard_abandoned(session: Session, org_id: int, now: dt.datetime | None = None) -> int:
    """Drop the organisation's jobs left waiting for options for over a day (and their file)."""
    cutoff = (now or t.utcnow()) - ABANDONED_AFTER
    return session.execute(
        delete(t.Job).where(
            t.Job.org_id == org_id,
            t.Job.status == QUEUED,
            t.Job.started_at.is_(None),
            t.Job.created_at < cutoff,
            t.Job.params.like('%"awaiting"%'),
        )
    ).rowcount
