"""Slow work outside the request: submit a job, run it, and read its progress from the database.

A job is a :class:`~workflow.adapters.tables.Job` row. :func:`submit` adds the row in the
caller's transaction and starts the job only once that transaction commits, so a job never runs
for an upload the request did not keep. Two runners start jobs:

- :class:`ThreadRunner`, the default: a small pool of threads inside the web process;
- :class:`RqRunner`, used when ``REDIS_URL`` is set and the ``rq`` package is installed (the
  ``redis`` extra): the job is queued in Redis and a separate ``rq worker`` runs
  :func:`perform`. If Redis cannot be reached when a job is queued, the job runs in-process
  instead and the log says so. The queue entry is named after the row and its ``queued_at``
  (:func:`queue_entry_id`), so :meth:`RqRunner.lost` can tell which queued jobs Redis no
  longer holds (it was flushed, or restarted without persistence).

Both run :func:`run`, so a job behaves the same either way. The job's work happens in its own
transaction: if it raises, everything it wrote is rolled back and the row is marked ``failed``
with a message saying why, so a failed import leaves no half-imported process. Progress is
written in short transactions of its own, which is what lets a page show it while the job runs.

While a runner holds a job (queued on its threads, or running) a :class:`Heartbeat` refreshes
the row's ``heartbeat_at`` every :data:`HEARTBEAT_SECONDS`, so a job whose process died can be
told apart from a slow one (:mod:`workflow.services.stale_jobs` marks it failed). The job's
work commits only if the row is still the same running claim, so a job declared dead never
stores anything afterwards.
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
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, delete, event, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from workflow.adapters import tables as t
from workflow.adapters.database import make_engine, make_session_factory
from workflow.render import DirectoryCache, Renderer

__all__ = [
    "HEARTBEAT_SECONDS",
    "JOB_MODULES",
    "Heartbeat",
    "JobContext",
    "JobFailed",
    "RqRunner",
    "Runner",
    "ThreadRunner",
    "Work",
    "discard",
    "discard_abandoned",
    "file_kept",
    "find_job",
    "job_by_id",
    "job_kind",
    "make_runner",
    "params_of",
    "perform",
    "queue_entry_id",
    "recent_jobs",
    "result_of",
    "retry",
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
#: How long queueing a job waits for Redis before the job runs in-process instead.
REDIS_TIMEOUT_SECONDS = 2
#: A job left waiting for its options (an event log's columns) is discarded after this long.
ABANDONED_AFTER = dt.timedelta(days=1)
#: How often a runner refreshes the heartbeat of the jobs it holds.
HEARTBEAT_SECONDS = 15.0
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

    def progress(self, fraction: float, message: str) -> None:
        """Record how far the job is, in a transaction of its own, so pages see it now."""
        with self.context.sessions() as session:
            session.execute(
                update(t.Job)
                .where(t.Job.id == self.job_id, t.Job.status == RUNNING)
                .values(
                    progress=max(0.0, min(1.0, fraction)),
                    message=message[:500],
                    heartbeat_at=t.utcnow(),
                )
            )
            session.commit()

    def payload(self) -> bytes:
        """The uploaded file. The row keeps it until the job ends, so a job whose worker died
        can be tried again; finishing or failing clears it."""
        with self.context.sessions() as session:
            data = session.scalar(select(t.Job.payload).where(t.Job.id == self.job_id))
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
    """Starts a committed job somewhere; never raises for a job's own failure. ``queued_at``
    is the job's hand-over stamp (``Job.queued_at``), which names its queue entry."""

    def start(self, job_id: int, queued_at: dt.datetime | None = None) -> None: ...


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
        _start_after_commit(session, runner, job)
    return job


def start(session: Session, runner: Runner, job: t.Job, params: dict[str, Any]) -> t.Job:
    """Start a recorded job with its final ``params`` once ``session`` commits."""
    if job.status != QUEUED:
        raise JobFailed("This job has already run.")
    job.params = json.dumps(params)
    job.message = "Waiting to start"
    _start_after_commit(session, runner, job)
    return job


def file_kept(session: Session, job: t.Job) -> bool:
    """Whether the row still holds the uploaded file (a job can then be tried again)."""
    kept = select(t.Job.id).where(t.Job.id == job.id, t.Job.payload.is_not(None))
    return session.scalar(kept) is not None


def retry(session: Session, runner: Runner, job: t.Job) -> t.Job:
    """Queue a failed job again with its stored file, once ``session`` commits.

    Only a job that failed because its worker stopped keeps its file (a job that failed on
    its own clears it, since running it again would fail the same way)."""
    if job.status != FAILED or not file_kept(session, job):
        raise JobFailed("This import cannot be tried again; upload the file again.")
    job.status = QUEUED
    job.progress = 0.0
    job.message = "Waiting to start"
    job.error = ""
    job.result = "{}"
    job.started_at = job.finished_at = job.heartbeat_at = None
    _start_after_commit(session, runner, job)
    return job


def _start_after_commit(session: Session, runner: Runner, job: t.Job) -> None:
    """Hand ``job`` to ``runner`` once ``session`` commits, stamping when it was handed over
    (each hand-over gets a queue entry of its own, see :func:`queue_entry_id`)."""
    job.queued_at = t.utcnow()
    session.flush()
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _start_pending)
        event.listen(session, "after_rollback", _forget_pending)
    pending.append((runner, job.id, job.queued_at))


def _start_pending(session: Session) -> None:
    pending = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    for runner, job_id, queued_at in pending:
        runner.start(job_id, queued_at)


def _forget_pending(session: Session) -> None:
    session.info[_PENDING] = []


# --- running ----------------------------------------------------------------------------------
class Heartbeat:
    """Keeps ``heartbeat_at`` fresh for the jobs a process holds, from one small thread.

    Each beat is one short ``UPDATE`` of its own. The thread runs only while some job is held
    and stops by itself when none is. A beat that fails (the database is busy or away) is
    logged and tried again on the next tick: a job only looks stopped after several missed
    beats, since the stale limit is many times :data:`HEARTBEAT_SECONDS`.
    """

    def __init__(self, sessions: sessionmaker[Session], interval: float = HEARTBEAT_SECONDS):
        self.sessions = sessions
        self.interval = interval
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, job_id: int) -> None:
        """Beat for ``job_id`` now and from now on, until :meth:`release`."""
        with self._lock:
            self._held.add(job_id)
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._tick, name="leanlane-job-heartbeat", daemon=True
                )
                self._thread.start()
        self.beat([job_id])

    def release(self, job_id: int) -> None:
        with self._lock:
            self._held.discard(job_id)

    def held(self) -> set[int]:
        with self._lock:
            return set(self._held)

    def beat(self, job_ids: Iterable[int] | None = None) -> int:
        """Refresh the heartbeat of the held jobs (or of ``job_ids``) still queued or running;
        the number of rows refreshed, 0 when the database could not be written."""
        ids = sorted(self.held() if job_ids is None else set(job_ids))
        if not ids:
            return 0
        try:
            with self.sessions() as session:
                count = session.execute(
                    update(t.Job)
                    .where(t.Job.id.in_(ids), t.Job.status.in_((QUEUED, RUNNING)))
                    .values(heartbeat_at=t.utcnow())
                ).rowcount
                session.commit()
                return count
        except SQLAlchemyError as exc:
            log.warning("could not record the heartbeat of jobs %s: %s", ids, exc)
            return 0

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                if not self._held:
                    self._thread = None
                    return
            self.beat()
        with self._lock:
            self._thread = None

    def stop(self) -> None:
        """Stop beating (the jobs still held will look stopped once the stale limit passes)."""
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join()


@dataclass(frozen=True)
class _Claim:
    """A job this run marked running; ``started_at`` tells this claim from a later retry's."""

    job: t.Job
    started_at: dt.datetime

    def mine(self) -> ColumnElement[bool]:
        return and_(
            t.Job.id == self.job.id, t.Job.status == RUNNING, t.Job.started_at == self.started_at
        )


def _claim(context: JobContext, job_id: int) -> _Claim | None:
    """Mark the job running, unless it is gone or another worker has it already."""
    now = t.utcnow()
    with context.sessions() as session:
        claimed = session.execute(
            update(t.Job)
            .where(t.Job.id == job_id, t.Job.status == QUEUED)
            .values(status=RUNNING, started_at=now, heartbeat_at=now, message="Starting")
        ).rowcount
        session.commit()
        job = session.get(t.Job, job_id) if claimed == 1 else None
        return _Claim(job, now) if job is not None else None


def _fail(context: JobContext, claim: _Claim, message: str, problems: list[str]) -> None:
    with context.sessions() as session:
        session.execute(
            update(t.Job)
            .where(claim.mine())
            .values(
                status=FAILED,
                message=message[:500],
                error="\n".join([message, *problems]),
                payload=None,
                finished_at=t.utcnow(),
            )
        )
        session.commit()


def run(job_id: int, context: JobContext, heartbeat: Heartbeat | None = None) -> str:
    """Run one job to its end and return its final status; the work is one transaction.

    ``heartbeat`` is the runner's (which holds the job already); without one the run beats for
    itself while it works. If the job was declared stopped meanwhile (its heartbeat lapsed and
    someone marked it failed), the work is rolled back rather than stored under a failed row.
    """
    claim = _claim(context, job_id)
    if claim is None:
        return "skipped"
    own_heartbeat = heartbeat is None
    beating = Heartbeat(context.sessions) if heartbeat is None else heartbeat
    beating.hold(job_id)
    job = claim.job
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
        finished = session.execute(
            update(t.Job)
            .where(claim.mine())
            .values(
                status=DONE,
                progress=1.0,
                message="Done",
                result=json.dumps(result),
                payload=None,
                finished_at=t.utcnow(),
            )
        ).rowcount
        if finished != 1:
            session.rollback()
            log.warning("job %s was marked stopped while it ran; its work was not stored", job_id)
            return FAILED
        session.commit()
        return DONE
    except JobFailed as exc:
        session.rollback()
        _fail(context, claim, exc.message, exc.problems)
    except Exception as exc:
        session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        _fail(
            context,
            claim,
            f"The job stopped on an unexpected error ({type(exc).__name__}). Nothing was "
            "stored; please try again, and tell your administrator if it happens again.",
            [],
        )
    finally:
        session.close()
        beating.release(job_id)
        if own_heartbeat:
            beating.stop()
    return FAILED


class ThreadRunner:
    """Runs jobs on a few threads of this process (the default, and the fallback without
    Redis). Jobs queued or running here keep a heartbeat; when the process stops they lose it,
    and once the stale limit passes they are marked failed (:mod:`workflow.services.stale_jobs`)
    with the file kept, so their user can try again."""

    def __init__(self, context: JobContext, workers: int = 2) -> None:
        self.context = context
        self.heartbeat = Heartbeat(context.sessions)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="leanlane-job")
        self._futures: set[Future] = set()
        self._lock = threading.Lock()

    def start(self, job_id: int, queued_at: dt.datetime | None = None) -> None:
        self.heartbeat.hold(job_id)
        future = self._pool.submit(run, job_id, self.context, self.heartbeat)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(lambda done: self._forget(done, job_id))

    def _forget(self, future: Future, job_id: int) -> None:
        self.heartbeat.release(job_id)
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
        self.heartbeat.stop()


#: After Redis failed to answer, how long :meth:`RqRunner.lost` answers "cannot tell" at once.
LOST_CHECK_BACKOFF_SECONDS = 30.0


def queue_entry_id(job_id: int, queued_at: dt.datetime | None) -> str:
    """The id of the RQ job that runs ``job_id`` for its hand-over at ``queued_at``.

    A new id for every hand-over (a retry is queued afresh), so an entry left by an earlier
    attempt (in RQ's failed or started registry) is never mistaken for the current one, and
    anyone reading the row can look the entry up without asking the process that queued it.
    """
    if queued_at is None:
        return f"leanlane-job-{job_id}"
    return f"leanlane-job-{job_id}-{queued_at:%Y%m%dT%H%M%S%f}"


#: RQ statuses of an entry some worker will still run (or is running).
_RQ_PENDING = frozenset(
    {"created", "queued", "started", "deferred", "scheduled", "rate_limited", "ready_to_enqueue"}
)


class RqRunner:
    """Queues jobs in Redis for ``rq worker`` processes (see ``docs/IMPORTS.md``)."""

    def __init__(
        self,
        redis_url: str,
        *,
        queue: str = "leanlane",
        fallback: Runner | None = None,
        step_url_template: str = DEFAULT_STEP_URL,
        task: str = "workflow.services.jobs.perform",
    ) -> None:
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(
            redis_url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=5
        )
        self.queue = Queue(queue, connection=self.connection)
        self.fallback = fallback
        self.step_url_template = step_url_template
        self.task = task
        self._redis_down = False
        #: Until when (monotonic seconds) :meth:`lost` does not ask a Redis that just failed.
        self._ask_again_at = 0.0

    def start(self, job_id: int, queued_at: dt.datetime | None = None) -> None:
        from redis.exceptions import RedisError

        try:
            self.queue.enqueue(
                self.task,
                job_id,
                self.step_url_template,
                job_id=queue_entry_id(job_id, queued_at),
                job_timeout=RQ_TIMEOUT_SECONDS,
                result_ttl=0,
                failure_ttl=7 * 86_400,
                description=f"leanlane job {job_id}",
            )
        except RedisError as exc:
            if self.fallback is None:
                raise
            log.warning("Redis is unreachable (%s); running job %s in-process", exc, job_id)
            self.fallback.start(job_id, queued_at)

    def lost(self, queued: Sequence[tuple[int, dt.datetime]]) -> set[int] | None:
        """Which of the ``(job id, queued_at)`` pairs no worker will ever run: their RQ entry is
        gone (Redis was flushed or restarted without persistence) or ended without the job
        starting; an entry named without a stamp (handed over without one) counts as theirs.
        ``None`` when Redis cannot be asked: nothing can be told then, and the first such time
        is logged (once, until Redis answers again)."""
        from redis.exceptions import RedisError
        from rq.job import Job

        if not queued:
            return set()
        if time.monotonic() < self._ask_again_at:
            # Redis failed a moment ago: job pages poll every second, and each would wait for
            # the connection to time out again.
            return None
        try:
            with self.connection.pipeline(transaction=False) as pipe:
                for job_id, queued_at in queued:
                    pipe.hget(Job.key_for(queue_entry_id(job_id, queued_at)), "status")
                    pipe.hget(Job.key_for(queue_entry_id(job_id, None)), "status")
                answers = pipe.execute()
        except RedisError as exc:
            if not self._redis_down:
                log.warning(
                    "Redis down: degraded mode; cannot tell whether queued jobs %s are still "
                    "in the queue (%s)",
                    [job_id for job_id, _ in queued],
                    exc,
                )
            self._redis_down = True
            self._ask_again_at = time.monotonic() + LOST_CHECK_BACKOFF_SECONDS
            return None
        self._redis_down = False
        pending = [
            any(status is not None and _text(status) in _RQ_PENDING for status in pair)
            for pair in zip(answers[::2], answers[1::2], strict=True)
        ]
        return {job_id for (job_id, _), waits in zip(queued, pending, strict=True) if not waits}


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def make_runner(
    context: JobContext,
    redis_url: str | None,
    *,
    queue: str = "leanlane",
    task: str = "workflow.services.jobs.perform",
) -> ThreadRunner | RqRunner:
    """RQ when ``redis_url`` is set and rq is installed, else the in-process runner; ``task``
    is the function an RQ worker calls with the job's id."""
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
        redis_url,
        queue=queue,
        fallback=threads,
        step_url_template=context.step_url_template,
        task=task,
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


def perform(
    job_id: int,
    step_url_template: str = DEFAULT_STEP_URL,
    make_context: Callable[[], JobContext] = _environment_context,
) -> str:
    """Run a queued job inside an RQ worker; the context is made once per worker process."""
    global _worker_context
    with _worker_lock:
        if _worker_context is None:
            _worker_context = make_context()
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
