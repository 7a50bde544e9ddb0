"""Jobs whose runner is gone: found by their lapsed heartbeat and marked failed, clearly.

A runner refreshes ``heartbeat_at`` of every job it holds (see
:class:`~workflow.services.jobs.Heartbeat`). A job still ``running`` whose heartbeat is older
than the stale limit lost its worker (the process was stopped or killed); a job ``queued`` with
a heartbeat that lapsed was waiting on the threads of a web process that stopped, and no runner
will ever pick it up. Both are marked failed when someone looks at them (the job's page, the
list of imports, ``leanlane jobs``) and by ``leanlane jobs --fail-stale``.

Nothing of such a job was stored: its work is one transaction that the dead process never
committed, and :func:`~workflow.services.jobs.run` refuses to commit under a row that is no
longer its running claim. The uploaded file is kept, so the job can be tried again
(:func:`~workflow.services.jobs.retry`); it is dropped a day later.

Jobs queued in Redis have no heartbeat until an RQ worker claims them: Redis keeps them however
long the workers take, so they are never failed for waiting. What can happen to them is that
Redis loses its queue (flushed, or restarted without persistence): given the runner's ``queue``,
:func:`fail_stale` also fails the jobs queued for longer than :data:`QUEUE_GRACE` whose queue
entry is gone, with their file kept for trying again. When Redis cannot be asked, such jobs are
left as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from workflow.adapters import tables as t
from workflow.services.jobs import ABANDONED_AFTER, FAILED, HEARTBEAT_SECONDS, QUEUED, RUNNING

__all__ = [
    "DEFAULT_STALE_AFTER",
    "MIN_STALE_AFTER",
    "NEVER_STARTED",
    "QUEUE_GRACE",
    "QUEUE_LOST",
    "WORKER_STOPPED",
    "Queue",
    "drop_kept_files",
    "fail_stale",
    "stale_after",
]

#: A job whose heartbeat is older than this lost its runner (``JOB_STALE_AFTER`` changes it).
DEFAULT_STALE_AFTER = dt.timedelta(minutes=2)
#: Shorter limits would fail live jobs whose heartbeat was merely delayed by a busy database.
MIN_STALE_AFTER = dt.timedelta(seconds=4 * HEARTBEAT_SECONDS)
WORKER_STOPPED = (
    "The worker stopped while this import ran; nothing of it was saved — upload the file again."
)
NEVER_STARTED = (
    "The server restarted before this import started; nothing of it was saved — upload the "
    "file again."
)


#: A queued job's entry may be missing from Redis this long after it was handed over: the row is
#: committed before the job is queued, and queueing may wait for Redis before giving up.
QUEUE_GRACE = dt.timedelta(seconds=30)
QUEUE_LOST = (
    "The job queue lost this import before it started (Redis was emptied or restarted); "
    "nothing of it was saved — try again."
)


class Queue(Protocol):
    """Where queued jobs wait for a worker (:class:`~workflow.services.jobs.RqRunner`)."""

    def lost(self, queued: Sequence[tuple[int, dt.datetime]]) -> set[int] | None:
        """The ids among ``(job id, queued_at)`` that no worker will run; ``None`` when the
        queue cannot be asked."""
        ...


def stale_after(seconds: float | str | None) -> dt.timedelta:
    """The stale limit from a configuration value in seconds (empty: the default)."""
    if seconds is None or str(seconds).strip() == "":
        return DEFAULT_STALE_AFTER
    try:
        limit = dt.timedelta(seconds=float(seconds))
    except (TypeError, ValueError, OverflowError):
        raise ValueError(
            f"LEANLANE_JOB_STALE_AFTER must be a number of seconds, not {seconds!r}"
        ) from None
    if limit < MIN_STALE_AFTER:
        raise ValueError(
            f"LEANLANE_JOB_STALE_AFTER must be at least {MIN_STALE_AFTER.total_seconds():.0f} "
            f"seconds (runners beat every {HEARTBEAT_SECONDS:.0f}); {seconds!r} is too short"
        )
    return limit


def _last_sign_of_life():
    return func.coalesce(t.Job.heartbeat_at, t.Job.started_at, t.Job.created_at)


def _stale(cutoff: dt.datetime):
    """Running jobs silent since ``cutoff``, and queued ones whose in-process runner went quiet
    (a queued job without a heartbeat waits for its options or in Redis, and is left alone)."""
    return (
        (t.Job.status == RUNNING) | ((t.Job.status == QUEUED) & t.Job.heartbeat_at.is_not(None))
    ) & (_last_sign_of_life() < cutoff)


def _waiting_in_queue(cutoff: dt.datetime):
    """Jobs handed to a queue before ``cutoff`` that no runner has taken yet."""
    return (
        (t.Job.status == QUEUED)
        & t.Job.heartbeat_at.is_(None)
        & t.Job.started_at.is_(None)
        & (t.Job.queued_at < cutoff)
    )


def fail_stale(
    session: Session,
    *,
    org_id: int | None = None,
    job_ids: list[int] | None = None,
    limit: dt.timedelta = DEFAULT_STALE_AFTER,
    now: dt.datetime | None = None,
    queue: Queue | None = None,
    queue_grace: dt.timedelta = QUEUE_GRACE,
) -> list[int]:
    """Mark the stale jobs (of one organisation, or among ``job_ids``) failed; their ids.

    With ``queue``, jobs waiting in it for over ``queue_grace`` whose entry it lost are failed
    too (:data:`QUEUE_LOST`). Reads first and writes only when something is stale, so looking
    at jobs costs no write in the usual case (and asks Redis only about jobs still waiting).
    Each update repeats its test, so a job whose heartbeat arrived, or that a worker took,
    meanwhile is left alone. The caller commits.
    """
    moment = now or t.utcnow()
    failed = _fail_silent(session, org_id, job_ids, moment - limit, moment)
    if queue is not None:
        failed.extend(_fail_lost(session, queue, org_id, job_ids, moment - queue_grace, moment))
    if failed:
        session.expire_all()
    return sorted(failed)


def _scoped(query: Select, org_id: int | None, job_ids: list[int] | None) -> Select:
    """``query`` limited to one organisation's jobs, or to ``job_ids``, when given."""
    if org_id is not None:
        query = query.where(t.Job.org_id == org_id)
    if job_ids is not None:
        query = query.where(t.Job.id.in_(job_ids))
    return query


def _fail_lost(
    session: Session,
    queue: Queue,
    org_id: int | None,
    job_ids: list[int] | None,
    cutoff: dt.datetime,
    now: dt.datetime,
) -> list[int]:
    query = _scoped(
        select(t.Job.id, t.Job.queued_at).where(_waiting_in_queue(cutoff)), org_id, job_ids
    )
    waiting = [(job_id, queued_at) for job_id, queued_at in session.execute(query).all()]
    lost = queue.lost(waiting) if waiting else None
    if not lost:
        return []
    stamps = {job_id: queued_at for job_id, queued_at in waiting if job_id in lost}
    failed: list[int] = []
    for job_id, queued_at in sorted(stamps.items()):
        changed = session.execute(
            update(t.Job)
            .where(t.Job.id == job_id, t.Job.queued_at == queued_at, _waiting_in_queue(cutoff))
            .values(status=FAILED, message=QUEUE_LOST, error=QUEUE_LOST, finished_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed == 1:
            failed.append(job_id)
    return failed


def _fail_silent(
    session: Session,
    org_id: int | None,
    job_ids: list[int] | None,
    cutoff: dt.datetime,
    now: dt.datetime,
) -> list[int]:
    query = _scoped(select(t.Job.id, t.Job.status).where(_stale(cutoff)), org_id, job_ids)
    found = session.execute(query).all()
    failed: list[int] = []
    for status, message in ((RUNNING, WORKER_STOPPED), (QUEUED, NEVER_STARTED)):
        ids = [job_id for job_id, found_status in found if found_status == status]
        if not ids:
            continue
        changed = session.execute(
            update(t.Job)
            .where(t.Job.id.in_(ids), t.Job.status == status, _stale(cutoff))
            .values(status=FAILED, message=message, error=message, finished_at=now)
            .returning(t.Job.id)
            .execution_options(synchronize_session=False)
        )
        failed.extend(changed.scalars())
    return failed


def drop_kept_files(
    session: Session, *, org_id: int | None = None, now: dt.datetime | None = None
) -> int:
    """Clear the files kept for trying a stopped job again, a day after it failed."""
    cutoff = (now or t.utcnow()) - ABANDONED_AFTER
    query = update(t.Job).where(
        t.Job.status == FAILED, t.Job.payload.is_not(None), t.Job.finished_at < cutoff
    )
    if org_id is not None:
        query = query.where(t.Job.org_id == org_id)
    return session.execute(
        query.values(payload=None).execution_options(synchronize_session=False)
    ).rowcount
