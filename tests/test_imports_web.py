"""Importing through the browser: upload, choose an event log's columns, follow the job's
progress (with or without JavaScript, across reloads), see the processes and warnings or the
error, and export a process as a CSV step list."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from sqlalchemy import select

from web.imports import RUNNER
from workflow.adapters import tables as t
from workflow.services import jobs

DATA = Path(__file__).resolve().parent / "data"
BPMN_FILE = DATA / "bpmn" / "miwg-reference" / "A.2.0.bpmn"
LOG_CSV = DATA / "eventlogs" / "running-example.csv"
WAIT = 60
#: What the mapping form posts when no column is chosen (a browser sends every select).
EMPTY_MAPPING = {p: "" for p in ("case", "activity", "time", "start", "resource", "role")}


class Recorder:
    def __init__(self) -> None:
        self.started: list[int] = []

    def start(self, job_id: int, queued_at=None) -> None:
        self.started.append(job_id)


def _upload(client, filename: str, data: bytes, **fields):
    return client.post(
        "/processes/import/file",
        data={"file": (io.BytesIO(data), filename), "kind": "auto", **fields},
        content_type="multipart/form-data",
    )


def _job_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/jobs/(\d+)", response.headers["Location"]).group(1))


def _processes(session, org_id: int) -> list[t.Process]:
    session.expire_all()
    return list(session.scalars(select(t.Process).where(t.Process.org_id == org_id)))


def test_a_bpmn_upload_runs_in_the_background_and_shows_its_processes(
    client, owner, runner, session
):
    job_id = _job_id(_upload(client, "A.2.0.bpmn", BPMN_FILE.read_bytes()))
    assert runner.wait(WAIT)
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["status"] == "done" and status["progress"] == 1.0 and status["finished"]
    assert status["url"] == f"/jobs/{job_id}"
    rows = _processes(session, owner.org_id)
    assert rows
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Imported 1 process" in page
    for row in rows:
        assert row.name in page
        assert f"/processes/{row.id}/export.csv" in page
    assert "Warnings" in page
    assert "<progress" not in page


def test_a_queued_job_shows_a_progress_bar_that_follows_it_and_survives_a_reload(
    app, client, owner, context
):
    recorder = Recorder()
    app.extensions[RUNNER] = recorder
    job_id = _job_id(_upload(client, "steps.csv", b"name\nCheck\nFile\n"))
    assert recorder.started == [job_id]
    for _reload in range(2):
        page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
        assert '<progress id="job-progress" max="1" value="0.0"' in page
        assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
        assert 'src="/static/imports.js"' in page
        assert f'data-job-status-url="/jobs/{job_id}.json"' in page
        assert "Waiting to start" in page
    assert client.get(f"/jobs/{job_id}.json").get_json()["status"] == "queued"
    assert jobs.run(job_id, context) == "done"
    assert client.get(f"/jobs/{job_id}.json").get_json()["finished"] is True
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Imported 1 process" in page and "imports.js" not in page


def test_an_event_log_goes_through_the_column_mapping_step(client, owner, runner, session):
    response = _upload(client, "running-example.csv", LOG_CSV.read_bytes())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/options")
    job_id = _job_id(response)
    page = client.get(f"/jobs/{job_id}/options").get_data(as_text=True)
    assert '<th scope="col">case:concept:name</th>' in page
    assert "register request" in page
    assert '<option selected value="concept:name">' in page
    assert '<option selected value="case:concept:name">' in page
    assert client.get(f"/jobs/{job_id}").headers["Location"].endswith(f"/jobs/{job_id}/options")
    response = client.post(
        f"/jobs/{job_id}/options",
        data={
            "case": "case:concept:name",
            "activity": "Activity",
            "time": "time:timestamp",
            "start": "",
            "resource": "Resource",
            "role": "",
            "keep": "100",
            "name": "Ticket requests",
            "timestamp_format": "",
        },
    )
    assert response.headers["Location"] == f"/jobs/{job_id}"
    assert runner.wait(WAIT)
    assert client.get(f"/jobs/{job_id}.json").get_json()["status"] == "done"
    (row,) = _processes(session, owner.org_id)
    assert row.name == "Ticket requests"
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "no start timestamps" in page and "Ticket requests" in page


def test_the_mapping_form_names_the_column_missing_and_keeps_the_rest(client, owner, runner):
    job_id = _job_id(_upload(client, "running-example.csv", LOG_CSV.read_bytes()))
    response = client.post(
        f"/jobs/{job_id}/options",
        data={**EMPTY_MAPPING, "case": "case:concept:name", "time": "time:timestamp", "keep": "80"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose the activity column." in page
    assert '<option selected value="case:concept:name">' in page
    response = client.post(
        f"/jobs/{job_id}/options",
        data={
            **EMPTY_MAPPING,
            "case": "case:concept:name",
            "activity": "concept:name",
            "time": "time:timestamp",
            "keep": "0",
        },
    )
    assert response.status_code == 422
    assert "Give a share from 1 to 100." in response.get_data(as_text=True)
    assert client.get(f"/jobs/{job_id}.json").get_json()["status"] == "queued"


def test_a_waiting_event_log_can_be_cancelled(client, owner, session):
    job_id = _job_id(_upload(client, "running-example.csv", LOG_CSV.read_bytes()))
    response = client.post(f"/jobs/{job_id}/cancel")
    assert response.headers["Location"] == "/processes/import/file"
    assert client.get(f"/jobs/{job_id}").status_code == 404


def test_a_failing_import_stores_nothing_and_shows_the_error(client, owner, runner, session):
    job_id = _job_id(_upload(client, "list.csv", b"name,touch_minutes\nCheck,ten\n"))
    assert runner.wait(WAIT)
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["status"] == "failed" and status["finished"]
    assert _processes(session, owner.org_id) == []
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "The import failed; nothing was stored" in page
    assert "row 2, column &#39;touch_minutes&#39;: must be a number (got &#39;ten&#39;)" in page


def test_an_upload_over_the_limit_is_refused_before_it_is_read(app, client, owner, session):
    app.config["IMPORT_UPLOAD_LIMIT"] = 1024
    response = _upload(client, "big.csv", b"name\n" + b"x" * 200_000)
    assert response.status_code == 413
    assert "The file is larger than 1 KiB" in response.get_data(as_text=True)
    assert "the most this page accepts" in response.get_data(as_text=True)
    assert session.scalar(select(t.Job.id)) is None


def test_a_file_that_cannot_be_told_asks_for_its_kind(client, owner):
    response = _upload(client, "notes.bin", b"\x00\x01\x02")
    assert response.status_code == 422
    assert "Cannot tell what notes.bin is" in response.get_data(as_text=True)


def test_uploads_need_their_csrf_token(app, client, owner):
    app.config["WTF_CSRF_ENABLED"] = True
    response = _upload(client, "steps.csv", b"name\nA\n")
    assert response.status_code == 400
    assert "had expired" in response.get_data(as_text=True)


def test_job_pages_of_another_organisation_are_not_found(client, owner, make, session):
    beta = make.org("Beta")
    job = jobs.submit(session, None, org_id=beta.id, user_id=None, kind="bpmn")
    session.commit()
    for path in (f"/jobs/{job.id}", f"/jobs/{job.id}.json", f"/jobs/{job.id}/options"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/jobs/{job.id}/cancel").status_code == 404
    assert client.post(f"/jobs/{job.id}/options", data={"keep": "80"}).status_code == 404


def test_staff_cannot_import(client, make):
    org = make.org("Alpha")
    make.login(client, make.user(org, "staff"))
    assert client.get("/processes/import/file").status_code == 403
    assert _upload(client, "steps.csv", b"name\nA\n").status_code == 403


def test_the_upload_page_lists_recent_imports_and_links_the_yaml_import(client, owner, runner):
    page = client.get("/processes/import/file").get_data(as_text=True)
    assert "No imports yet." in page
    assert 'href="/processes/import"' in page
    job_id = _job_id(_upload(client, "steps.csv", b"name\nA\n"))
    assert runner.wait(WAIT)
    page = client.get("/processes/import/file").get_data(as_text=True)
    assert f'href="/jobs/{job_id}">steps.csv</a>' in page
    assert "/processes/import/file" in client.get("/processes/import").get_data(as_text=True)


def test_a_process_downloads_as_a_csv_step_list_safe_for_spreadsheets(client, owner, make, session):
    org = session.get(t.Organisation, owner.org_id)
    rows = make.model(org, "insurance_claim.yaml")
    response = client.get(f"/processes/{rows['claims'].id}/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="claims.csv"'
    text = response.get_data(as_text=True).lstrip("\ufeff")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:2] == ["id", "name"]
    assert len(table) - 1 == len(list(make_steps(session, rows["claims"])))


def make_steps(session, row):
    from workflow.adapters import repository as repo

    return repo.parse_document(repo.current_version(session, row).document).process.steps()


def test_an_imported_formula_comes_back_out_as_text(client, owner, runner, session):
    data = b'name,description\n"=HYPERLINK(""http://x.example"")",@SUM(A1)\n'
    job_id = _job_id(_upload(client, "formulas.csv", data, kind="steps_csv"))
    assert runner.wait(WAIT)
    assert client.get(f"/jobs/{job_id}.json").get_json()["status"] == "done"
    (row,) = _processes(session, owner.org_id)
    text = client.get(f"/processes/{row.id}/export.csv").get_data(as_text=True)
    cells = [c for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for c in r]
    assert '\'=HYPERLINK("http://x.example")' in cells
    assert "'@SUM(A1)" in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]
