"""The job interface: a job starts only when its upload is committed, runs once, shows its
progress while it runs, and either stores everything or nothing; the same job runs in a thread
or in an RQ worker against the real Redis."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

import pytest
from sqlalchemy import select

from workflow.adapters import tables as t
from workflow.services import jobs
from workflow.services.processes import create_process
from workflow.vocabulary import Perspective

REDIS_URL = "redis://127.0.0.1:6379/0"
WAIT = 30


class Recorder:
    """A runner that only notes which jobs it was asked to start."""

    def __init__(self) -> None:
        self.started: list[int] = []

    def start(self, job_id: int, queued_at=None) -> None:
        self.started.append(job_id)


@jobs.job_kind("test-create")
def _create(work: jobs.Work) -> dict:
    """Creates a process named in the params, then fails if the params say so."""
    data = work.payload()
    work.progress(0.5, "Half way")
    row = create_process(
        work.session,
        work.org_id,
        work.user_id,
        key=work.params["key"],
        name=data.decode("utf-8"),
        perspective=Perspective.EMPLOYEE_PROCESS,
    )
    work.session.flush()
    if work.params.get("fail") == "user":
        raise jobs.JobFailed("The file says no.", ["line 1: no", "line 2: still no"])
    if work.params.get("fail") == "crash":
        raise KeyError("surprise")
    return {"processes": [row.id]}


GATE = {"reached": threading.Event(), "release": threading.Event()}


@jobs.job_kind("test-gate")
def _gate(work: jobs.Work) -> dict:
    work.progress(0.25, "Reading")
    GATE["reached"].set()
    GATE["release"].wait(WAIT)
    return {"ok": True}


@pytest.fixture
def org(make):
    return make.org()


def _submit(session, runner, org, **params) -> t.Job:
    job = jobs.submit(
        session,
        runner,
        org_id=org.id,
        user_id=None,
        kind=params.pop("kind", "test-create"),
        params={"key": "made", **params},
        payload=b"Made by a job",
    )
    return job


def _fresh(context, job_id: int) -> t.Job:
    with context.sessions() as session:
        return session.get(t.Job, job_id)


def _payload(context, job_id: int) -> bytes | None:
    with context.sessions() as session:
        return session.scalar(select(t.Job.payload).where(t.Job.id == job_id))


def _process_keys(context, org) -> list[str]:
    with context.sessions() as session:
        return list(session.scalars(select(t.Process.key).where(t.Process.org_id == org.id)))


def test_a_job_starts_only_once_its_transaction_commits(session, org):
    runner = Recorder()
    job = _submit(session, runner, org)
    assert runner.started == []
    session.commit()
    assert runner.started == [job.id]


def test_a_job_of_a_rolled_back_request_never_starts(session, org):
    runner = Recorder()
    _submit(session, runner, org)
    session.rollback()
    session.commit()
    assert runner.started == []


def test_an_unknown_kind_is_refused_when_submitted(session, org):
    with pytest.raises(jobs.JobFailed, match="does not know jobs of the kind 'nonsense'"):
        _submit(session, Recorder(), org, kind="nonsense")


def test_a_finished_job_keeps_its_result_and_drops_the_file(session, org, context):
    job = _submit(session, None, org)
    session.commit()
    assert jobs.run(job.id, context) == "done"
    done = _fresh(context, job.id)
    assert (done.status, done.progress, done.message) == ("done", 1.0, "Done")
    assert done.started_at and done.finished_at
    assert _payload(context, job.id) is None
    assert _process_keys(context, org) == ["made"]
    assert json.loads(done.result)["processes"]


def test_a_failing_job_leaves_nothing_behind_and_says_why(session, org, context):
    job = _submit(session, None, org, fail="user")
    session.commit()
    assert jobs.run(job.id, context) == "failed"
    failed = _fresh(context, job.id)
    assert failed.status == "failed"
    assert failed.message == "The file says no."
    assert failed.error.splitlines() == ["The file says no.", "line 1: no", "line 2: still no"]
    assert _process_keys(context, org) == []
    assert _payload(context, job.id) is None


def test_an_unexpected_error_is_reported_without_its_internals(session, org, context, caplog):
    job = _submit(session, None, org, fail="crash")
    session.commit()
    assert jobs.run(job.id, context) == "failed"
    failed = _fresh(context, job.id)
    assert "unexpected error (KeyError)" in failed.message
    assert "surprise" not in failed.error
    assert "Nothing was stored" in failed.message
    assert _process_keys(context, org) == []
    assert "surprise" in caplog.text


def test_a_job_runs_only_once(session, org, context):
    job = _submit(session, None, org)
    session.commit()
    assert jobs.run(job.id, context) == "done"
    assert jobs.run(job.id, context) == "skipped"
    assert _process_keys(context, org) == ["made"]


def test_progress_is_visible_while_the_job_runs_in_its_thread(session, org, context):
    GATE["reached"].clear()
    GATE["release"].clear()
    runner = jobs.ThreadRunner(context)
    try:
        job = _submit(session, runner, org, kind="test-gate")
        session.commit()
        assert GATE["reached"].wait(WAIT)
        running = _fresh(context, job.id)
        assert (running.status, running.progress, running.message) == (
            "running",
            0.25,
            "Reading",
        )
        status = jobs.status_of(running)
        assert status["finished"] is False and status["progress"] == 0.25
        GATE["release"].set()
        assert runner.wait(WAIT)
        assert jobs.status_of(_fresh(context, job.id))["finished"] is True
    finally:
        GATE["release"].set()
        runner.shutdown()


def test_jobs_of_another_organisation_are_not_found(session, make, context):
    alpha, beta = make.org("Alpha"), make.org("Beta")
    job = _submit(session, None, alpha)
    session.commit()
    assert jobs.find_job(session, alpha.id, job.id) is not None
    assert jobs.find_job(session, beta.id, job.id) is None


def test_only_a_job_that_has_not_started_can_be_cancelled(session, org, context):
    job = _submit(session, None, org)
    session.commit()
    jobs.run(job.id, context)
    session.expire_all()
    with pytest.raises(jobs.JobFailed, match="has not started"):
        jobs.discard(session, session.get(t.Job, job.id))
    waiting = _submit(session, None, org)
    session.commit()
    jobs.discard(session, waiting)
    session.commit()
    assert session.get(t.Job, waiting.id) is None


def test_uploads_left_waiting_for_their_options_are_dropped_after_a_day(session, org):
    def waiting(age_hours: int) -> t.Job:
        job = jobs.submit(
            session,
            None,
            org_id=org.id,
            user_id=None,
            kind="test-create",
            params={"awaiting": "options"},
            payload=b"x",
        )
        job.created_at = t.utcnow() - dt.timedelta(hours=age_hours)
        return job

    old, recent = waiting(30), waiting(2)
    session.commit()
    assert jobs.discard_abandoned(session, org.id) == 1
    session.commit()
    assert session.get(t.Job, old.id) is None
    assert session.get(t.Job, recent.id) is not None


def test_without_redis_jobs_run_in_process(context):
    assert isinstance(jobs.make_runner(context, None), jobs.ThreadRunner)
    assert isinstance(jobs.make_runner(context, ""), jobs.ThreadRunner)


def test_with_redis_unreachable_a_job_runs_in_process_instead(session, org, context, caplog):
    fallback = Recorder()
    runner = jobs.RqRunner("redis://127.0.0.1:1/0", fallback=fallback)
    job = _submit(session, runner, org)
    session.commit()
    assert fallback.started == [job.id]
    assert "Redis is unreachable" in caplog.text


def _redis_or_skip():
    from redis import Redis
    from redis.exceptions import RedisError

    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except RedisError as exc:
        pytest.skip(f"Redis does not answer at {REDIS_URL} ({exc}); CI runs this test with Redis")
    return connection


def test_a_job_queued_in_redis_is_run_by_an_rq_worker(session, org, context):
    pytest.importorskip("rq", reason="the redis extra (rq) is not installed")
    from rq import Queue, SimpleWorker

    connection = _redis_or_skip()
    name = f"leanlane-test-{uuid.uuid4().hex}"
    runner = jobs.make_runner(context, REDIS_URL, queue=name)
    assert isinstance(runner, jobs.RqRunner)
    queue = Queue(name, connection=connection)
    try:
        job = _submit(session, runner, org)
        session.commit()
        assert queue.count == 1
        assert _fresh(context, job.id).status == "queued"
        jobs.use_worker_context(context)
        SimpleWorker([queue], connection=connection).work(burst=True)
        done = _fresh(context, job.id)
        assert done.status == "done", done.error
        assert _process_keys(context, org) == ["made"]
        assert queue.count == 0
    finally:
        jobs.use_worker_context(None)
        queue.delete(delete_jobs=True)


def test_a_failing_job_in_an_rq_worker_leaves_nothing_behind(session, org, context):
    pytest.importorskip("rq", reason="the redis extra (rq) is not installed")
    from rq import Queue, SimpleWorker

    connection = _redis_or_skip()
    name = f"leanlane-test-{uuid.uuid4().hex}"
    runner = jobs.RqRunner(REDIS_URL, queue=name)
    queue = Queue(name, connection=connection)
    try:
        job = _submit(session, runner, org, fail="user")
        session.commit()
        jobs.use_worker_context(context)
        SimpleWorker([queue], connection=connection).work(burst=True)
        failed = _fresh(context, job.id)
        assert failed.status == "failed" and failed.message == "The file says no."
        assert _process_keys(context, org) == []
    finally:
        jobs.use_worker_context(None)
        queue.delete(delete_jobs=True)
