"""Background jobs with Redis as operators run them: real ``rq worker`` processes, started with
the environment docs/DEPLOY.md gives them, import queued uploads; a worker killed with SIGKILL
in the middle of an import stores nothing, its job is failed once its heartbeat is older than
the configured stale limit, and "Try again" completes it on a fresh worker. A job whose Redis
queue entry is gone (Redis flushed, or restarted without persistence) is failed with a clear
message instead of waiting forever; with Redis unreachable nothing is judged.

Uses Redis database 11 at 127.0.0.1:6379, which it empties before and after each test."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update

from tests.conftest import app_config
from web import create_app, database
from web.cli import main
from web.imports import RUNNER, job_queue
from workflow.adapters import tables as t
from workflow.services import imports, jobs, stale_jobs

REDIS_URL = "redis://127.0.0.1:6379/11"
QUEUE = "leanlane"
BPMN_FILE = Path(__file__).resolve().parent / "data" / "bpmn" / "miwg-reference" / "A.2.0.bpmn"
#: The longest any single wait on a worker or on the database may take, in seconds.
WAIT = 120
STALE_LIMIT = stale_jobs.MIN_STALE_AFTER
#: A Graphviz stand-in (``LEANLANE_DOT``) that records its parent, the job's work horse, and
#: then blocks: the import is then held in the middle of its transaction, its process rows
#: written but not committed, for as long as the test needs.
STALLING_DOT = """#!/bin/sh
echo "$PPID" > "{marker}.part" && mv "{marker}.part" "{marker}"
exec sleep 600
"""


@pytest.fixture
def redis():
    """Redis database 11, empty; skipped where Redis or rq is not installed or not running."""
    pytest.importorskip("rq", reason="the redis extra (rq) is not installed")
    from redis import Redis
    from redis.exceptions import RedisError

    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=10)
    try:
        connection.ping()
    except RedisError as exc:
        pytest.skip(f"Redis does not answer at {REDIS_URL} ({exc}); CI runs it with Redis")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def rq_app(app, database_url, tmp_path, redis):
    """The web app as deployed with Redis: jobs go to the ``leanlane`` queue in database 11,
    and a job counts as stopped after the shortest stale limit the app accepts."""
    built = create_app(
        app_config(
            database_url,
            tmp_path,
            REDIS_URL=REDIS_URL,
            JOB_STALE_AFTER=str(int(STALE_LIMIT.total_seconds())),
        )
    )
    assert job_queue(built) is built.extensions[RUNNER]
    yield built
    built.extensions[RUNNER].fallback.shutdown()
    database.engine(built).dispose()


@pytest.fixture
def owner_client(rq_app, make):
    org = make.org("Alpha")
    client = rq_app.test_client()
    make.login(client, make.user(org, "owner"))
    return client, org


def _worker_environment(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """What docs/DEPLOY.md tells operators to give ``rq worker``: the web app's environment."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("LEANLANE_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    environment.update(
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        LEANLANE_SECRET_KEY="worker-test",
        LEANLANE_RENDER_CACHE_DIR=str(tmp_path / "worker-renders"),
        **extra,
    )
    return environment


def _rq_command() -> str:
    found = shutil.which("rq", path=str(Path(sys.executable).parent)) or shutil.which("rq")
    if found is None:
        pytest.skip("the rq command is not installed (pip install 'leanlane[redis]')")
    return found


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (an RQ worker's work horses)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie waiting for a parent that is gone counts)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def _kill_worker(worker: subprocess.Popen) -> list[int]:
    """SIGKILL an RQ worker and its work horses, each with its process group (a horse runs in
    a group of its own, with the layout programs it started); the horses' ids."""
    horses = _children(worker.pid)
    for group in [worker.pid, *horses]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    return horses


@contextlib.contextmanager
def _rq_worker(environment: dict[str, str], log: Path, *, burst: bool) -> Iterator:
    """An ``rq worker`` process on the ``leanlane`` queue, killed with its horses at the end."""
    command = [_rq_command(), "worker", "--url", REDIS_URL, *(["--burst"] if burst else []), QUEUE]
    with log.open("ab") as output:
        worker = subprocess.Popen(
            command,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    horses: list[int] = []
    try:
        yield worker
    finally:
        if worker.poll() is None:
            horses = _kill_worker(worker)
        worker.wait(WAIT)
        _until(lambda: all(_gone(pid) for pid in horses), "the work horses to exit", log)


def _until(check: Callable[[], object], what: str, log: Path | None = None) -> object:
    """Poll ``check`` until it answers something true; fail after :data:`WAIT` seconds."""
    deadline = time.monotonic() + WAIT
    while not (answer := check()):
        if time.monotonic() > deadline:
            said = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"waited {WAIT} s for {what}; the worker said:\n{said}")
        time.sleep(0.05)
    return answer


def _upload(client) -> int:
    response = client.post(
        "/processes/import/file",
        data={"file": (io.BytesIO(BPMN_FILE.read_bytes()), "A.2.0.bpmn"), "kind": "auto"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/jobs/(\d+)", response.headers["Location"]).group(1))


def _retry_on_a_fresh_worker(client, rq_app, redis, job_id, database_url, tmp_path) -> t.Job:
    """Press Try again, check the job waits in the queue, and let a new worker run it."""
    assert client.post(f"/jobs/{job_id}/retry").status_code == 302
    assert _entry_status(redis, _job(rq_app, job_id)) == "queued"
    assert client.get(f"/jobs/{job_id}.json").get_json()["status"] == "queued"
    log = tmp_path / "fresh-worker.log"
    with _rq_worker(_worker_environment(database_url, tmp_path), log, burst=True) as worker:
        assert worker.wait(WAIT) == 0, log.read_text(errors="replace")
    done = _job(rq_app, job_id)
    assert done.status == "done", done.error
    return done


def _job(rq_app, job_id: int) -> t.Job:
    with database.session_factory(rq_app)() as session:
        return session.get(t.Job, job_id)


def _processes(rq_app, org) -> list[str]:
    with database.session_factory(rq_app)() as session:
        return list(session.scalars(select(t.Process.key).where(t.Process.org_id == org.id)))


def _entry_status(redis, job: t.Job) -> str | None:
    """The status of the job's current RQ entry, None when Redis does not hold it."""
    from rq.job import Job

    status = redis.hget(Job.key_for(jobs.queue_entry_id(job.id, job.queued_at)), "status")
    return status.decode() if status is not None else None


def _age(rq_app, job_id: int, seconds: float, *columns: str) -> None:
    """Move the job's ``columns`` back in time, as if ``seconds`` had passed since."""
    delta = dt.timedelta(seconds=seconds)
    with database.session_factory(rq_app)() as session:
        job = session.get(t.Job, job_id)
        for name in columns:
            setattr(job, name, getattr(job, name) - delta)
        session.commit()


# --- real rq worker processes ------------------------------------------------------------------
def test_a_real_rq_worker_imports_a_queued_upload(
    rq_app, owner_client, redis, database_url, tmp_path
):
    client, org = owner_client
    job_id = _upload(client)
    queued = _job(rq_app, job_id)
    assert queued.status == "queued" and _entry_status(redis, queued) == "queued"

    log = tmp_path / "worker.log"
    with _rq_worker(_worker_environment(database_url, tmp_path), log, burst=True) as worker:
        assert worker.wait(WAIT) == 0, log.read_text(errors="replace")

    done = _job(rq_app, job_id)
    assert done.status == "done", done.error
    imported = jobs.result_of(done)["processes"]
    assert [p["key"] for p in imported] == _processes(rq_app, org) != []
    assert client.get(f"/jobs/{job_id}.json").get_json()["status"] == "done"
    assert _entry_status(redis, done) is None


def test_a_real_rq_worker_killed_mid_import_stores_nothing_and_try_again_completes(
    rq_app, owner_client, redis, database_url, tmp_path
):
    client, org = owner_client
    marker, dot = tmp_path / "drawing", tmp_path / "stalling-dot"
    dot.write_text(STALLING_DOT.format(marker=marker))
    dot.chmod(0o755)
    stalling = _worker_environment(
        database_url, tmp_path, LEANLANE_DOT=str(dot), LEANLANE_RENDER_TIME_LIMIT="600"
    )
    job_id = _upload(client)

    log = tmp_path / "worker.log"
    with _rq_worker(stalling, log, burst=False) as worker:
        _until(marker.exists, "the job to reach the drawing of its maps", log)
        horse = int(marker.read_text())
        running = _job(rq_app, job_id)
        assert running.status == "running" and running.progress == pytest.approx(0.9)
        assert running.message.startswith("Saving 1 process(es)")
        assert horse in _kill_worker(worker)
        assert worker.wait(WAIT) == -signal.SIGKILL
        _until(lambda: _gone(horse), "the killed work horse to exit", log)

    assert _processes(rq_app, org) == [], "a killed import left a half-imported process"
    polled = client.get(f"/jobs/{job_id}.json").get_json()
    assert polled["status"] == "running", "failed before its heartbeat was older than the limit"

    _age(rq_app, job_id, STALE_LIMIT.total_seconds() + 1, "heartbeat_at", "started_at")
    polled = client.get(f"/jobs/{job_id}.json").get_json()
    assert polled["status"] == "failed" and polled["message"] == stale_jobs.WORKER_STOPPED
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "nothing of it was saved" in page and "Try again" in page

    done = _retry_on_a_fresh_worker(client, rq_app, redis, job_id, database_url, tmp_path)
    assert _processes(rq_app, org) == [p["key"] for p in jobs.result_of(done)["processes"]]
    assert len(_processes(rq_app, org)) == 1
    assert "Try again" not in client.get(f"/jobs/{job_id}").get_data(as_text=True)


# --- a queue that Redis lost -------------------------------------------------------------------
def _queued_row(session, org, *, queued_age: float | None, **values) -> t.Job:
    """A job handed to the queue ``queued_age`` seconds ago (None: never handed over)."""
    now = t.utcnow()
    job = t.Job(
        org_id=org.id,
        user_id=None,
        kind="import-bpmn",
        status=values.pop("status", "queued"),
        params=values.pop("params", '{"filename": "orders.bpmn"}'),
        payload=b"Kept file",
        created_at=now - dt.timedelta(hours=1),
        queued_at=None if queued_age is None else now - dt.timedelta(seconds=queued_age),
        **values,
    )
    session.add(job)
    session.commit()
    return job


class Asked:
    """A queue that records what it was asked about and answers as ``answer`` says."""

    def __init__(self, answer: Callable[[set[int]], set[int] | None]) -> None:
        self.answer = answer
        self.asked: list[set[int]] = []

    def lost(self, queued):
        ids = {job_id for job_id, _ in queued}
        self.asked.append(ids)
        return self.answer(ids)


@pytest.fixture
def org(make):
    return make.org()


def test_only_jobs_waiting_in_the_queue_past_the_grace_are_asked_about(session, org):
    grace = stale_jobs.QUEUE_GRACE.total_seconds()
    waiting = _queued_row(session, org, queued_age=grace + 1)
    _queued_row(session, org, queued_age=grace - 5)
    _queued_row(session, org, queued_age=None, params='{"awaiting": "options"}')
    _queued_row(session, org, queued_age=grace + 1, heartbeat_at=t.utcnow())
    _queued_row(session, org, queued_age=grace + 1, status="running", heartbeat_at=t.utcnow())
    _queued_row(session, org, queued_age=grace + 1, status="done")
    queue = Asked(lambda ids: ids)

    assert stale_jobs.fail_stale(session, queue=queue) == [waiting.id]
    session.commit()
    assert queue.asked == [{waiting.id}]
    failed = session.get(t.Job, waiting.id)
    assert failed.status == "failed" and failed.message == failed.error == stale_jobs.QUEUE_LOST
    assert "nothing of it was saved" in failed.message and "try again" in failed.message
    assert jobs.file_kept(session, failed)


def test_a_job_the_queue_still_holds_or_cannot_tell_about_keeps_waiting(session, org):
    job = _queued_row(session, org, queued_age=3600)
    for answer in (set(), None):
        assert stale_jobs.fail_stale(session, queue=Asked(lambda ids, a=answer: a)) == []
    assert stale_jobs.fail_stale(session) == []
    assert session.get(t.Job, job.id).status == "queued"


def test_a_job_taken_by_a_worker_while_the_queue_was_asked_is_left_running(session, org, context):
    job = _queued_row(session, org, queued_age=3600)

    def taken_meanwhile(ids):
        with context.sessions() as other:
            other.execute(
                update(t.Job)
                .where(t.Job.id == job.id)
                .values(status="running", started_at=t.utcnow(), heartbeat_at=t.utcnow())
            )
            other.commit()
        return ids

    assert stale_jobs.fail_stale(session, queue=Asked(taken_meanwhile)) == []
    session.expire_all()
    assert session.get(t.Job, job.id).status == "running"


def test_redis_says_which_queued_jobs_it_lost(session, org, context, redis):
    runner = jobs.RqRunner(REDIS_URL)
    held, started, flushed, failed_in_rq = (
        _queued_row(session, org, queued_age=3600) for _ in range(4)
    )
    for job in (held, started, flushed, failed_in_rq):
        runner.start(job.id, job.queued_at)
    session.expire_all()
    from rq.job import Job

    for job, status in ((started, "started"), (failed_in_rq, "failed")):
        redis.hset(Job.key_for(jobs.queue_entry_id(job.id, job.queued_at)), "status", status)
    redis.delete(Job.key_for(jobs.queue_entry_id(flushed.id, flushed.queued_at)))
    assert _entry_status(redis, held) == "queued"

    assert stale_jobs.fail_stale(session, queue=runner) == sorted([flushed.id, failed_in_rq.id])
    session.commit()
    assert [session.get(t.Job, job.id).status for job in (held, started)] == ["queued", "queued"]


def test_a_job_queued_without_reading_its_stamp_back_is_not_taken_for_lost(
    session, org, context, redis
):
    """The stamp travels with the hand-over, so the entry is named after it without reading the
    row again; an entry named without one counts as waiting too."""
    runner = jobs.RqRunner(REDIS_URL)
    job = jobs.submit(
        session,
        runner,
        org_id=org.id,
        user_id=None,
        kind=imports.BPMN,
        params={"filename": "orders.bpmn"},
        payload=b"Kept file",
    )
    session.commit()
    session.expire_all()
    assert _entry_status(redis, job) == "queued"

    unstamped = _queued_row(session, org, queued_age=3600)
    runner.start(unstamped.id)
    later = t.utcnow() + stale_jobs.QUEUE_GRACE + dt.timedelta(seconds=1)
    assert stale_jobs.fail_stale(session, queue=runner, now=later) == []
    session.commit()
    assert [session.get(t.Job, j.id).status for j in (job, unstamped)] == ["queued", "queued"]


def test_a_flushed_queue_fails_its_jobs_after_the_grace_and_try_again_completes(
    rq_app, owner_client, redis, database_url, tmp_path
):
    client, org = owner_client
    job_id = _upload(client)
    assert _entry_status(redis, _job(rq_app, job_id)) == "queued"
    redis.flushdb()

    assert client.get(f"/jobs/{job_id}.json").get_json()["status"] == "queued"
    _age(rq_app, job_id, stale_jobs.QUEUE_GRACE.total_seconds() + 1, "queued_at")
    polled = client.get(f"/jobs/{job_id}.json").get_json()
    assert polled["status"] == "failed" and polled["message"] == stale_jobs.QUEUE_LOST
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "The job queue lost this import" in page and "Try again" in page

    _retry_on_a_fresh_worker(client, rq_app, redis, job_id, database_url, tmp_path)
    assert len(_processes(rq_app, org)) == 1


def test_the_list_of_imports_shows_jobs_of_a_flushed_queue_as_failed(
    rq_app, owner_client, redis, make
):
    client, org = owner_client
    other = make.org("Beta")
    with database.session_factory(rq_app)() as session:
        mine = _queued_row(session, org, queued_age=3600).id
        theirs = _queued_row(session, other, queued_age=3600).id
    client.get("/processes/import/file")
    assert _job(rq_app, mine).status == "failed"
    assert _job(rq_app, theirs).status == "queued"


def test_with_redis_unreachable_queued_jobs_are_left_and_the_log_says_so_once(
    session, org, context, caplog, monkeypatch
):
    pytest.importorskip("rq", reason="the redis extra (rq) is not installed")
    job = _queued_row(session, org, queued_age=3600)
    runner = jobs.RqRunner("redis://127.0.0.1:1/11")
    clock = [1000.0]
    monkeypatch.setattr(jobs, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    asked = []
    pipeline = runner.connection.pipeline
    monkeypatch.setattr(
        runner.connection, "pipeline", lambda **kw: asked.append(1) or pipeline(**kw)
    )
    for _look in range(3):
        assert stale_jobs.fail_stale(session, queue=runner) == []
    assert len(asked) == 1, "a Redis that just failed was asked again at once"
    clock[0] += jobs.LOST_CHECK_BACKOFF_SECONDS + 1
    assert stale_jobs.fail_stale(session, queue=runner) == []
    assert len(asked) == 2
    assert session.get(t.Job, job.id).status == "queued"
    assert caplog.text.count("Redis down: degraded mode") == 1


def test_leanlane_jobs_fail_stale_fails_the_jobs_of_a_flushed_queue(
    app, redis, session, org, monkeypatch, database_url, tmp_path, capsys
):
    for name, value in {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "LEANLANE_SECRET_KEY": "cli-test",
        "LEANLANE_RENDER_CACHE_DIR": str(tmp_path / "renders"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LEANLANE_JOB_STALE_AFTER", raising=False)
    lost = _queued_row(session, org, queued_age=3600)
    fresh = _queued_row(session, org, queued_age=1)

    assert main(["jobs", "--fail-stale"]) == 0
    assert (
        f"Marked 1 job failed (no heartbeat for over 120 s, or lost from the Redis queue): "
        f"{lost.id}"
    ) in capsys.readouterr().out
    session.expire_all()
    assert session.get(t.Job, lost.id).message == stale_jobs.QUEUE_LOST
    assert session.get(t.Job, fresh.id).status == "queued"

    assert main(["jobs", "--fail-stale"]) == 0
    assert "every queued one is still in the Redis queue" in capsys.readouterr().out
    assert session.scalar(select(func.count()).select_from(t.Job)) == 2
