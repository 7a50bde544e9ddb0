"""``leanlane jobs`` shows background jobs with their status and progress from the terminal,
as the browser does: the newest first, one organisation's only, or one job in full."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from web.cli import main
from workflow.adapters import tables as t


@pytest.fixture
def cli_env(app, monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LEANLANE_SECRET_KEY", "cli-test")
    monkeypatch.setenv("LEANLANE_RENDER_CACHE_DIR", str(tmp_path / "renders"))
    return monkeypatch


@pytest.fixture
def orgs(make):
    return make.org("Acme"), make.org("Beta")


def add_job(session, org, *, minutes_ago: int, user=None, **values) -> t.Job:
    job = t.Job(
        org_id=org.id,
        user_id=user.id if user else None,
        kind=values.pop("kind", "bpmn"),
        created_at=dt.datetime(2026, 12, 1, 12, 0) - dt.timedelta(minutes=minutes_ago),
        **values,
    )
    session.add(job)
    session.commit()
    return job


def listed_ids(out: str) -> list[int]:
    return [int(line.split()[0]) for line in out.splitlines()[1:]]


def test_jobs_lists_the_newest_first_with_status_and_progress(cli_env, capsys, session, orgs):
    acme, beta = orgs
    old = add_job(session, acme, minutes_ago=30, status="done", progress=1.0, message="Imported")
    running = add_job(
        session,
        beta,
        minutes_ago=1,
        status="running",
        progress=0.456,
        message="Reading the log",
        heartbeat_at=t.utcnow(),
    )

    assert main(["jobs"]) == 0

    out = capsys.readouterr().out
    assert listed_ids(out) == [running.id, old.id]
    first = out.splitlines()[1]
    assert "beta" in first and "running" in first and "46%" in first
    assert "Reading the log" in first and "2026-12-01 11:59:00 UTC" in first
    assert "done" in out.splitlines()[2] and "100%" in out.splitlines()[2]


def test_jobs_of_one_organisation_only(cli_env, capsys, session, orgs):
    acme, beta = orgs
    mine = add_job(session, acme, minutes_ago=5, status="queued")
    add_job(session, beta, minutes_ago=1, status="queued")

    assert main(["jobs", "--org", acme.slug]) == 0

    assert listed_ids(capsys.readouterr().out) == [mine.id]


def test_jobs_limit_keeps_the_newest(cli_env, capsys, session, orgs):
    acme, _ = orgs
    jobs = [add_job(session, acme, minutes_ago=n, status="done", progress=1.0) for n in range(5)]

    assert main(["jobs", "--limit", "2"]) == 0

    assert listed_ids(capsys.readouterr().out) == [jobs[0].id, jobs[1].id]


def test_a_failed_job_shows_why_in_the_list(cli_env, capsys, session, orgs):
    add_job(session, orgs[0], minutes_ago=1, status="failed", error="The file is not BPMN 2.0.")

    assert main(["jobs"]) == 0

    line = capsys.readouterr().out.splitlines()[1]
    assert "failed" in line and "The file is not BPMN 2.0." in line


def test_without_jobs_the_list_says_so(cli_env, capsys, orgs):
    assert main(["jobs"]) == 0
    assert capsys.readouterr().out.strip() == "No jobs yet."
    assert main(["jobs", "--org", orgs[0].slug]) == 0
    assert capsys.readouterr().out.strip() == f"No jobs for {orgs[0].slug} yet."


def test_an_unknown_organisation_is_a_clear_error(cli_env, capsys, orgs):
    assert main(["jobs", "--org", "nobody"]) == 2
    assert "no organisation has the slug 'nobody'" in capsys.readouterr().err


@pytest.mark.parametrize("limit", ["0", "1001", "many"])
def test_a_limit_out_of_range_is_refused(cli_env, capsys, limit):
    with pytest.raises(SystemExit) as stopped:
        main(["jobs", "--limit", limit])
    assert stopped.value.code == 2
    assert "--limit" in capsys.readouterr().err


def test_one_job_in_full(cli_env, capsys, session, make, orgs):
    acme, _ = orgs
    owner = make.user(acme, "owner", email="owner@acme.example")
    job = add_job(
        session,
        acme,
        minutes_ago=10,
        user=owner,
        kind="event_log",
        status="done",
        progress=1.0,
        message="Imported 2 processes",
        result=json.dumps({"process_ids": [4, 5]}),
        started_at=dt.datetime(2026, 12, 1, 11, 51),
        finished_at=dt.datetime(2026, 12, 1, 11, 52, 30),
    )

    assert main(["jobs", str(job.id)]) == 0

    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"Job {job.id}"
    fields = {line.split(maxsplit=1)[0]: line for line in out.splitlines()[1:]}
    assert f"{acme.slug} (Acme)" in fields["organisation"]
    assert "event_log" in fields["kind"] and "done" in fields["status"]
    assert "100%" in fields["progress"]
    assert "owner@acme.example" in fields["submitted"]
    assert "2026-12-01 11:52:30 UTC" in fields["finished"]
    assert '{"process_ids": [4, 5]}' in fields["result"]


def test_a_failed_job_in_full_shows_its_error(cli_env, capsys, session, orgs):
    job = add_job(session, orgs[1], minutes_ago=1, status="failed", error="Column 'case' missing.")

    assert main(["jobs", str(job.id)]) == 0

    out = capsys.readouterr().out
    assert "error         Column 'case' missing." in out
    assert "finished      -" in out


def test_an_unknown_job_is_a_clear_error(cli_env, capsys, orgs):
    assert main(["jobs", "999999"]) == 2
    assert "no job has the id 999999" in capsys.readouterr().err
