"""Jobs never stay "running" forever: a runner keeps a heartbeat for the jobs it holds; a job
whose heartbeat lapsed (its process was stopped or killed) is marked failed with a clear
message, stores nothing even if its process comes back, and can be tried again from its kept
file. Checked at the service level, with a killed worker process, in the browser and in the
terminal, and with Redis down."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import selectors
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.conftest import app_config
from web import create_app, database, rendering
from web.cli import main
from web.imports import RUNNER, STALE_AFTER
from web.imports.worker import TASK, app_context
from workflow.adapters import tables as t
from workflow.services import imports, jobs, stale_jobs
from workflow.services.processes import create_process
from workflow.vocabulary import Perspective

BPMN_FILE = Path(__file__).resolve().parent / "data" / "bpmn" / "miwg-reference" / "A.2.0.bpmn"
WAIT = 60
LIMIT = stale_jobs.DEFAULT_STALE_AFTER
STALL = {"reached": threading.Event(), "release": threading.Event()}


@jobs.job_kind("test-stall")
def _stall(work: jobs.Work) -> dict:
    """Waits half way until the test lets it go, then creates the process its file names."""
    name = work.payload().decode("utf-8")
    work.progress(0.5, "Half way")
    STALL["reached"].set()
    STALL["release"].wait(WAIT)
    row = create_process(
        work.session,
        work.org_id,
        work.user_id,
        key=work.params.get("key") or "stalled",
        name=name,
        perspective=Perspective.EMPLOYEE_PROCESS,
    )
    work.session.flush()
    return {"processes": [{"id": row.id, "key": row.key, "name": row.name}]}


@pytest.fixture
def org(make):
    return make.org()


@pytest.fixture
def stall():
    STALL["reached"].clear()
    STALL["release"].clear()
    yield STALL
    STALL["release"].set()


def _row(session, org, *, status: str, heartbeat_age: float | None, **values) -> t.Job:
    """A job row as a runner would have left it, its heartbeat ``heartbeat_age`` seconds old."""
    now = t.utcnow()
    beat = None if heartbeat_age is None else now - dt.timedelta(seconds=heartbeat_age)
    job = t.Job(
        org_id=org.id,
        user_id=None,
        kind=values.pop("kind", "test-stall"),
        status=status,
        params=values.pop("params", '{"filename": "orders.bpmn"}'),
        payload=values.pop("payload", b"Kept file"),
        created_at=values.pop("created_at", now - dt.timedelta(hours=1)),
        started_at=values.pop("started_at", beat if status == "running" else None),
        heartbeat_at=beat,
        **values,
    )
    session.add(job)
    session.commit()
    return job


def _fresh(context, job_id: int) -> t.Job:
    with context.sessions() as session:
        return session.get(t.Job, job_id)


def _process_keys(context, org) -> list[str]:
    with context.sessions() as session:
        return list(session.scalars(select(t.Process.key).where(t.Process.org_id == org.id)))


# --- the heartbeat ------------------------------------------------------------------------------
def test_holding_a_job_beats_at_once_and_only_for_jobs_still_waiting_or_running(
    session, org, context
):
    queued = _row(session, org, status="queued", heartbeat_age=None)
    done = _row(session, org, status="done", heartbeat_age=None)
    heartbeat = jobs.Heartbeat(context.sessions)
    try:
        heartbeat.hold(queued.id)
        assert _fresh(context, queued.id).heartbeat_at is not None
        assert heartbeat.beat([queued.id, done.id]) == 1
        assert _fresh(context, done.id).heartbeat_at is None
        heartbeat.release(queued.id)
        assert heartbeat.held() == set()
        assert heartbeat.beat() == 0
    finally:
        heartbeat.stop()


def test_progress_refreshes_the_heartbeat(session, org, context):
    job = _row(session, org, status="running", heartbeat_age=600)
    work = jobs.Work(job.id, org.id, None, job.kind, {}, session, context)
    work.progress(0.3, "Reading")
    fresh = _fresh(context, job.id)
    assert fresh.message == "Reading"
    assert t.utcnow() - fresh.heartbeat_at < dt.timedelta(minutes=1)


def test_a_heartbeat_that_cannot_be_written_is_logged_not_raised(caplog):
    def locked_database():
        raise OperationalError("UPDATE jobs", {}, Exception("database is locked"))

    heartbeat = jobs.Heartbeat(locked_database)
    assert heartbeat.beat([1]) == 0
    assert "could not record the heartbeat of jobs [1]" in caplog.text


# --- marking stale jobs failed -----------------------------------------------------------------
def test_a_running_job_whose_heartbeat_lapsed_is_failed_with_a_clear_message(session, org):
    dead = _row(session, org, status="running", heartbeat_age=LIMIT.total_seconds() + 1)
    alive = _row(session, org, status="running", heartbeat_age=LIMIT.total_seconds() - 1)

    assert stale_jobs.fail_stale(session, org_id=org.id) == [dead.id]
    session.commit()

    failed, running = session.get(t.Job, dead.id), session.get(t.Job, alive.id)
    assert failed.status == "failed" and failed.finished_at is not None
    assert failed.message == failed.error == stale_jobs.WORKER_STOPPED
    assert "nothing of it was saved" in failed.message and "upload the file again" in failed.message
    assert running.status == "running"


def test_a_queued_job_left_by_a_stopped_web_process_is_failed(session, org):
    orphan = _row(session, org, status="queued", heartbeat_age=LIMIT.total_seconds() * 10)
    in_redis = _row(session, org, status="queued", heartbeat_age=None)
    awaiting = _row(
        session, org, status="queued", heartbeat_age=None, params='{"awaiting": "options"}'
    )

    assert stale_jobs.fail_stale(session, org_id=org.id) == [orphan.id]
    session.commit()

    assert session.get(t.Job, orphan.id).message == stale_jobs.NEVER_STARTED
    assert session.get(t.Job, in_redis.id).status == "queued"
    assert session.get(t.Job, awaiting.id).status == "queued"


def test_a_running_job_without_any_heartbeat_counts_from_its_start(session, org):
    now = t.utcnow()
    legacy = _row(session, org, status="running", heartbeat_age=None, started_at=now - 2 * LIMIT)
    recent = _row(session, org, status="running", heartbeat_age=None, started_at=now - LIMIT / 2)
    assert stale_jobs.fail_stale(session) == [legacy.id]
    assert session.get(t.Job, recent.id).status == "running"


def test_only_the_organisation_or_the_jobs_asked_about_are_checked(session, make):
    acme, beta = make.org("Acme"), make.org("Beta")
    age = LIMIT.total_seconds() * 2
    mine = _row(session, acme, status="running", heartbeat_age=age)
    other = _row(session, beta, status="running", heartbeat_age=age)
    mine_too = _row(session, acme, status="running", heartbeat_age=age)

    assert stale_jobs.fail_stale(session, org_id=acme.id, job_ids=[mine.id]) == [mine.id]
    assert stale_jobs.fail_stale(session, org_id=acme.id) == [mine_too.id]
    assert session.get(t.Job, other.id).status == "running"


def test_the_limit_is_configurable_within_reason():
    assert stale_jobs.stale_after(None) == stale_jobs.stale_after("") == LIMIT
    assert stale_jobs.stale_after("300") == dt.timedelta(minutes=5)
    for bad in ("soon", "10", "-5", "nan"):
        with pytest.raises(ValueError, match="JOB_STALE_AFTER"):
            stale_jobs.stale_after(bad)


def test_an_invalid_limit_stops_the_app_at_start(database_url, tmp_path):
    with pytest.raises(ValueError, match="JOB_STALE_AFTER must be at least 60 seconds"):
        create_app(app_config(database_url, tmp_path, JOB_STALE_AFTER="5"))


def test_the_app_takes_its_stale_limit_from_the_configuration(database_url, tmp_path):
    app = create_app(app_config(database_url, tmp_path, JOB_STALE_AFTER="600"))
    try:
        assert app.extensions[STALE_AFTER] == dt.timedelta(minutes=10)
    finally:
        database.engine(app).dispose()


STATUSES = st.sampled_from(["queued", "running", "done", "failed"])
AGES = st.one_of(st.none(), st.integers(min_value=0, max_value=3600))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(STATUSES, AGES), min_size=1, max_size=6))
def test_exactly_the_jobs_silent_past_the_limit_are_failed(session, org, rows):
    """Whatever mix of jobs: those queued with a lapsed heartbeat, and those running without a
    sign of life within the limit, become failed; every other job keeps its status."""
    session.execute(t.Job.__table__.delete())
    session.commit()
    now = t.utcnow()
    made = [_row(session, org, status=status, heartbeat_age=age) for status, age in rows]
    stale = {
        job.id
        for job, (status, age) in zip(made, rows, strict=True)
        if age is not None and age > LIMIT.total_seconds() and status in ("queued", "running")
    } | {
        job.id
        for job, (status, age) in zip(made, rows, strict=True)
        if status == "running" and age is None
    }
    before = {job.id: job.status for job in made}

    assert set(stale_jobs.fail_stale(session, now=now)) == stale
    session.commit()
    session.expire_all()
    for job in made:
        assert session.get(t.Job, job.id).status == (
            "failed" if job.id in stale else before[job.id]
        )


# --- a stopped job stores nothing and can be tried again ---------------------------------------
def _submit(session, runner, org, name: str = "Made by a stalled job") -> t.Job:
    job = jobs.submit(
        session,
        runner,
        org_id=org.id,
        user_id=None,
        kind="test-stall",
        params={"filename": "orders.txt", "key": name.lower().replace(" ", "-")},
        payload=name.encode(),
    )
    session.commit()
    return job


def test_a_job_declared_stopped_stores_nothing_even_if_its_worker_comes_back(
    session, org, context, stall
):
    runner = jobs.ThreadRunner(context)
    try:
        job = _submit(session, runner, org)
        assert stall["reached"].wait(WAIT)
        later = t.utcnow() + LIMIT + dt.timedelta(seconds=1)
        assert stale_jobs.fail_stale(session, now=later) == [job.id]
        session.commit()
        stall["release"].set()
        assert runner.wait(WAIT)
    finally:
        runner.shutdown()
    assert _fresh(context, job.id).status == "failed"
    assert _fresh(context, job.id).message == stale_jobs.WORKER_STOPPED
    assert _process_keys(context, org) == []


def test_a_stopped_job_is_tried_again_from_its_kept_file(session, org, context, stall):
    job = _row(
        session,
        org,
        status="running",
        heartbeat_age=LIMIT.total_seconds() * 2,
        payload=b"Second attempt",
    )
    stale_jobs.fail_stale(session)
    session.commit()
    assert jobs.file_kept(session, session.get(t.Job, job.id))

    stall["release"].set()
    runner = jobs.ThreadRunner(context)
    try:
        jobs.retry(session, runner, session.get(t.Job, job.id))
        session.commit()
        assert runner.wait(WAIT)
    finally:
        runner.shutdown()

    done = _fresh(context, job.id)
    assert done.status == "done", done.error
    assert done.error == "" and done.heartbeat_at is not None
    assert _process_keys(context, org) == ["stalled"]
    assert not jobs.file_kept(session, done)


def test_a_job_that_failed_on_its_own_is_not_tried_again(session, org):
    failed = _row(session, org, status="failed", heartbeat_age=None, payload=None)
    done = _row(session, org, status="done", heartbeat_age=None)
    for job in (failed, done):
        with pytest.raises(jobs.JobFailed, match="upload the file again"):
            jobs.retry(session, jobs.ThreadRunner.__new__(jobs.ThreadRunner), job)


def test_kept_files_are_dropped_a_day_after_the_job_failed(session, org):
    now = t.utcnow()
    old = _row(
        session, org, status="failed", heartbeat_age=None, finished_at=now - dt.timedelta(days=2)
    )
    recent = _row(
        session, org, status="failed", heartbeat_age=None, finished_at=now - dt.timedelta(hours=2)
    )
    assert stale_jobs.drop_kept_files(session, org_id=org.id) == 1
    session.commit()
    assert not jobs.file_kept(session, old) and jobs.file_kept(session, recent)


def test_the_next_upload_drops_files_kept_over_a_day(session, org):
    class Idle:
        def start(self, job_id: int, queued_at=None) -> None:
            """Leaves the new job queued; this test is about the old one."""

    old = _row(
        session,
        org,
        status="failed",
        heartbeat_age=None,
        finished_at=t.utcnow() - dt.timedelta(days=2),
    )
    imports.begin_import(
        session, Idle(), org_id=org.id, user_id=None, filename="A.bpmn", data=BPMN_FILE.read_bytes()
    )
    session.commit()
    assert not jobs.file_kept(session, old)


WORKER_SCRIPT = textwrap.dedent(
    """
    import sys
    from workflow.services import jobs
    from workflow.services.processes import create_process
    from workflow.vocabulary import Perspective

    @jobs.job_kind("test-killed")
    def _write_then_hang(work):
        work.progress(0.4, "Writing")
        create_process(work.session, work.org_id, None, key="half", name="Half imported",
                       perspective=Perspective.EMPLOYEE_PROCESS)
        work.session.flush()
        print("wrote", flush=True)
        sys.stdin.readline()
        return {}

    jobs.perform(int(sys.argv[1]))
    """
)


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"the worker said nothing within {timeout} s")
    return process.stdout.readline().strip()


def test_a_killed_worker_process_leaves_a_job_that_is_failed_and_stored_nothing(
    session, org, context, database_url, tmp_path
):
    job = _row(session, org, status="queued", heartbeat_age=None, kind="test-killed")
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LEANLANE_RENDER_CACHE_DIR": str(tmp_path / "renders"),
    }
    with subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, str(job.id)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    ) as worker:
        try:
            assert _read_line(worker, WAIT) == "wrote"
            running = _fresh(context, job.id)
            assert running.status == "running" and running.message == "Writing"
            worker.send_signal(signal.SIGKILL)
            assert worker.wait(WAIT) == -signal.SIGKILL
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(WAIT)

    assert _fresh(context, job.id).status == "running"
    assert stale_jobs.fail_stale(session, now=t.utcnow()) == []
    later = t.utcnow() + LIMIT + dt.timedelta(seconds=1)
    assert stale_jobs.fail_stale(session, now=later) == [job.id]
    session.commit()
    assert _fresh(context, job.id).message == stale_jobs.WORKER_STOPPED
    assert _process_keys(context, org) == []


# --- in the browser ----------------------------------------------------------------------------
def test_a_stopped_job_shows_as_failed_on_its_page_with_a_way_to_try_again(
    client, owner, session, runner, context, stall
):
    org = session.get(t.Organisation, owner.org_id)
    job = _row(session, org, status="running", heartbeat_age=LIMIT.total_seconds() * 3)

    polled = client.get(f"/jobs/{job.id}.json").get_json()
    assert polled["status"] == "failed" and polled["finished"] is True
    assert polled["message"] == stale_jobs.WORKER_STOPPED

    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "The import failed; nothing was stored" in page
    assert "nothing of it was saved" in page
    assert f'action="/jobs/{job.id}/retry"' in page and "Try again" in page

    stall["release"].set()
    response = client.post(f"/jobs/{job.id}/retry")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/jobs/{job.id}")
    assert runner.wait(WAIT)
    assert _fresh(context, job.id).status == "done"
    assert "Try again" not in client.get(f"/jobs/{job.id}").get_data(as_text=True)

    again = client.post(f"/jobs/{job.id}/retry", follow_redirects=True)
    assert "This import cannot be tried again" in again.get_data(as_text=True)


def test_a_failed_job_without_its_file_offers_only_a_new_upload(client, owner, session):
    org = session.get(t.Organisation, owner.org_id)
    job = _row(
        session,
        org,
        status="failed",
        heartbeat_age=None,
        payload=None,
        message="orders.bpmn could not be imported",
        error="orders.bpmn could not be",
    )
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Try again" not in page and "Upload a corrected file" in page


def test_progress_of_a_live_job_still_shows_after_a_reload(client, owner, session):
    org = session.get(t.Organisation, owner.org_id)
    job = _row(
        session, org, status="running", heartbeat_age=5, progress=0.42, message="Read 1,200 events"
    )
    for _reload in range(3):
        page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
        assert 'value="0.42"' in page and "Read 1,200 events" in page
        polled = client.get(f"/jobs/{job.id}.json").get_json()
        assert polled["status"] == "running" and polled["progress"] == 0.42


def test_the_list_of_imports_shows_stopped_jobs_as_failed(client, owner, session, make):
    org = session.get(t.Organisation, owner.org_id)
    other = make.org("Beta")
    mine = _row(session, org, status="queued", heartbeat_age=LIMIT.total_seconds() * 2)
    theirs = _row(session, other, status="queued", heartbeat_age=LIMIT.total_seconds() * 2)
    page = client.get("/processes/import/file").get_data(as_text=True)
    session.expire_all()
    assert session.get(t.Job, mine.id).status == "failed"
    assert session.get(t.Job, theirs.id).status == "queued"
    assert "orders.bpmn" in page


def test_another_organisations_job_cannot_be_retried(client, owner, session, make):
    other = make.org("Beta")
    job = _row(session, other, status="failed", heartbeat_age=None)
    assert client.post(f"/jobs/{job.id}/retry").status_code == 404
    session.expire_all()
    assert session.get(t.Job, job.id).status == "failed"


# --- with Redis down ---------------------------------------------------------------------------
def test_with_redis_down_an_upload_is_imported_in_process(database_url, tmp_path, make, caplog):
    app = create_app(app_config(database_url, tmp_path, REDIS_URL="redis://127.0.0.1:1/13"))
    try:
        runner = app.extensions[RUNNER]
        assert isinstance(runner, jobs.RqRunner)
        client = app.test_client()
        org = make.org("Alpha")
        make.login(client, make.user(org, "owner"))
        response = client.post(
            "/processes/import/file",
            data={"file": (io.BytesIO(BPMN_FILE.read_bytes()), "A.2.0.bpmn"), "kind": "auto"},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        job_id = int(re.search(r"/jobs/(\d+)", response.headers["Location"]).group(1))
        assert runner.fallback.wait(WAIT)
        polled = client.get(f"/jobs/{job_id}.json").get_json()
        assert polled["status"] == "done", polled["error"]
        assert "Redis is unreachable" in caplog.text
        page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
        assert "Imported" in page
    finally:
        app.extensions[RUNNER].fallback.shutdown()
        database.engine(app).dispose()


# --- in the terminal ---------------------------------------------------------------------------
@pytest.fixture
def cli_env(app, monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LEANLANE_SECRET_KEY", "cli-test")
    monkeypatch.setenv("LEANLANE_RENDER_CACHE_DIR", str(tmp_path / "renders"))
    monkeypatch.delenv("LEANLANE_JOB_STALE_AFTER", raising=False)
    return monkeypatch


def test_jobs_fail_stale_marks_every_stopped_job_and_says_which(cli_env, capsys, session, make):
    acme, beta = make.org("Acme"), make.org("Beta")
    age = LIMIT.total_seconds() * 2
    dead = [
        _row(session, acme, status="running", heartbeat_age=age),
        _row(session, beta, status="queued", heartbeat_age=age),
    ]
    alive = _row(session, beta, status="running", heartbeat_age=1)

    assert main(["jobs", "--fail-stale"]) == 0
    out = capsys.readouterr().out
    assert f"Marked 2 jobs failed (no heartbeat for over 120 s): {dead[0].id}, {dead[1].id}" in out
    session.expire_all()
    assert [session.get(t.Job, job.id).status for job in dead] == ["failed", "failed"]
    assert session.get(t.Job, alive.id).status == "running"

    assert main(["jobs", "--fail-stale"]) == 0
    assert "No stale jobs" in capsys.readouterr().out


def test_jobs_fail_stale_follows_the_configured_limit(cli_env, capsys, session, org):
    job = _row(session, org, status="running", heartbeat_age=LIMIT.total_seconds() * 2)
    cli_env.setenv("LEANLANE_JOB_STALE_AFTER", "3600")
    assert main(["jobs", "--fail-stale"]) == 0
    assert "No stale jobs (every queued or running job beat within 3600 s)" in (
        capsys.readouterr().out
    )
    session.expire_all()
    assert session.get(t.Job, job.id).status == "running"


def test_jobs_lists_and_shows_a_stopped_job_as_failed(cli_env, capsys, session, org):
    job = _row(session, org, status="running", heartbeat_age=LIMIT.total_seconds() * 2)
    assert main(["jobs"]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert "failed" in line and "The worker stopped" in line
    assert main(["jobs", str(job.id)]) == 0
    shown = capsys.readouterr().out
    assert "status        failed" in shown and "heartbeat     20" in shown


def test_jobs_fail_stale_takes_no_id_or_organisation(cli_env, capsys, org):
    assert main(["jobs", "--fail-stale", "--org", "acme"]) != 0
    assert "--fail-stale checks every job" in capsys.readouterr().err


# --- the RQ worker shares the web app's configuration ------------------------------------------
REDIS_TEST_URL = "redis://127.0.0.1:6379/13"


def test_an_rq_worker_runs_imports_with_the_web_apps_render_cache(
    client, owner, session, database_url, tmp_path, monkeypatch
):
    """The worker's context is the app built from the same environment, so the maps a job
    draws land in the Redis render cache the web pages read (under the configured prefix)."""
    pytest.importorskip("rq", reason="the redis extra (rq) is not installed")
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue, SimpleWorker

    redis = Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        redis.ping()
    except RedisError as exc:
        pytest.skip(f"Redis does not answer at {REDIS_TEST_URL} ({exc}); CI runs it with Redis")
    name = f"leanlane-test-{uuid.uuid4().hex}"
    prefix = f"leanlane-test:{uuid.uuid4().hex}:"
    for variable, value in {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_TEST_URL,
        "LEANLANE_RENDER_CACHE_KEY_PREFIX": prefix,
        "LEANLANE_RENDER_CACHE_DIR": str(tmp_path / "worker-renders"),
        "LEANLANE_SECRET_KEY": "worker-test",
    }.items():
        monkeypatch.setenv(variable, value)
    app = client.application
    context = jobs.JobContext(
        database.session_factory(app), rendering.renderer(app), rendering.STEP_URL
    )
    app.extensions[RUNNER] = jobs.make_runner(context, REDIS_TEST_URL, queue=name, task=TASK)
    queue = Queue(name, connection=redis)
    worker_context = app_context()
    jobs.use_worker_context(worker_context)
    try:
        response = client.post(
            "/processes/import/file",
            data={"file": (io.BytesIO(BPMN_FILE.read_bytes()), "A.2.0.bpmn"), "kind": "auto"},
            content_type="multipart/form-data",
        )
        job_id = int(re.search(r"/jobs/(\d+)", response.headers["Location"]).group(1))
        assert [job.func_name for job in queue.jobs] == [TASK]
        SimpleWorker([queue], connection=redis).work(burst=True)
        done = _fresh(context, job_id)
        assert done.status == "done", done.error
        assert list(redis.scan_iter(f"{prefix}*")), "the worker's maps are not in Redis"
    finally:
        jobs.use_worker_context(None)
        worker_context.sessions.kw["bind"].dispose()
        queue.delete(delete_jobs=True)
        for key in redis.scan_iter(f"{prefix}*"):
            redis.delete(key)


def test_a_worker_process_makes_its_context_once_for_all_its_jobs(session, org, context, stall):
    stall["release"].set()
    made: list[jobs.JobContext] = []

    def make_context() -> jobs.JobContext:
        made.append(context)
        return context

    first, second = _submit(session, None, org, "First"), _submit(session, None, org, "Second")
    jobs.use_worker_context(None)
    try:
        assert jobs.perform(first.id, make_context=make_context) == "done"
        assert jobs.perform(second.id, make_context=make_context) == "done"
    finally:
        jobs.use_worker_context(None)
    assert len(made) == 1
    assert sorted(_process_keys(context, org)) == ["first", "second"]
