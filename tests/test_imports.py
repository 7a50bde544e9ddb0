"""Import jobs without the web: each kind of file becomes new processes with versions and maps,
an id already in use gets a free one, and a file that cannot be used stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.services import imports, jobs
from workflow.services.errors import InvalidInput

DATA = Path(__file__).resolve().parent / "data"
BPMN_FILE = DATA / "bpmn" / "miwg-reference" / "A.1.0.bpmn"
LOG_CSV = DATA / "eventlogs" / "running-example.csv"
LOG_XES = DATA / "eventlogs" / "running-example.xes"
STEPS = b"name,lane,touch_minutes,next\nCheck,Desk,5,\nFile,Desk,2,\n"


@pytest.fixture
def owner(make):
    org = make.org()
    return make.user(org, "owner")


class Recorder:
    def __init__(self) -> None:
        self.started: list[int] = []

    def start(self, job_id: int, queued_at=None) -> None:
        self.started.append(job_id)


def _begin(session, owner, filename: str, data: bytes, **options) -> t.Job:
    job = imports.begin_import(
        session,
        Recorder(),
        org_id=owner.org_id,
        user_id=owner.id,
        filename=filename,
        data=data,
        **options,
    )
    session.commit()
    return job


def _finish(context, job_id: int) -> t.Job:
    jobs.run(job_id, context)
    with context.sessions() as session:
        return session.get(t.Job, job_id)


def _processes(session, owner) -> list[t.Process]:
    session.expire_all()
    return list(
        session.scalars(
            select(t.Process).where(t.Process.org_id == owner.org_id).order_by(t.Process.id)
        )
    )


@pytest.mark.parametrize(
    ("filename", "head", "kind"),
    [
        ("model.bpmn", b"<?xml version='1.0'?><definitions/>", imports.BPMN),
        ("export.xml", b"<?xml version='1.0'?><bpmn:definitions>", imports.BPMN),
        ("log.xes", b"<log>", imports.EVENT_LOG),
        ("log.xes.gz", b"\x1f\x8b\x08", imports.EVENT_LOG),
        ("upload", b'<?xml version="1.0"?>\n<log xes.version="1.0">', imports.EVENT_LOG),
        ("log.csv", b"case_id,activity,timestamp\n1,a,2024-01-01", imports.EVENT_LOG),
        ("steps.csv", b"id,name,next\na,A,b\nb,B,", imports.STEPS_CSV),
        ("notes.bin", b"\x00\x01\x02", None),
    ],
)
def test_the_kind_of_a_file_is_told_from_its_name_and_first_lines(filename, head, kind):
    assert imports.detect_kind(filename, head) == kind


def test_a_bpmn_file_becomes_processes_with_versions_maps_and_counts(session, owner, context):
    job = _begin(session, owner, "A.1.0.bpmn", BPMN_FILE.read_bytes())
    done = _finish(context, job.id)
    assert done.status == "done", done.error
    result = jobs.result_of(done)
    rows = _processes(session, owner)
    assert [p["id"] for p in result["processes"]] == [row.id for row in rows]
    assert "5 flow nodes, 4 sequence flows" in result["summary"]
    version = repo.current_version(session, rows[0])
    assert version.number == 1 and version.summary == "Imported from A.1.0.bpmn"
    assert version.map_svg and "<svg" in version.map_svg
    assert version.author_id == owner.id


def test_importing_the_same_file_twice_makes_new_processes_with_free_ids(session, owner, context):
    for _ in range(2):
        job = _begin(session, owner, "steps.csv", STEPS)
        assert _finish(context, job.id).status == "done"
    assert [row.key for row in _processes(session, owner)] == ["steps", "steps-2"]


def test_free_ids_skip_every_taken_one():
    assert imports.free_keys({"a", "a-2"}, ["a", "b", "b"]) == {"a": "a-3", "b": "b-2"}


def test_a_step_list_becomes_a_process_named_after_the_file(session, owner, context):
    job = _begin(session, owner, "Expense claims.csv", STEPS, perspective="customer_journey")
    assert _finish(context, job.id).status == "done"
    (row,) = _processes(session, owner)
    assert (row.key, row.name, row.perspective) == (
        "expense-claims",
        "Expense claims",
        "customer_journey",
    )
    assert row.public_token


def test_an_event_log_waits_for_its_options_and_then_is_discovered(session, owner, context):
    runner = Recorder()
    job = imports.begin_import(
        session,
        runner,
        org_id=owner.org_id,
        user_id=owner.id,
        filename="running-example.csv",
        data=LOG_CSV.read_bytes(),
    )
    session.commit()
    assert imports.awaits_options(job) and runner.started == []
    preview = imports.log_preview(session, job)
    assert preview.guesses == {
        "case": "case:concept:name",
        "activity": "concept:name",
        "time": "time:timestamp",
        "resource": "org:resource",
    }
    assert preview.rows[0][1] == "register request"
    imports.choose_log_options(
        session,
        runner,
        job,
        columns={**preview.guesses, "activity": "Activity", "resource": "Resource"},
        keep=1.0,
        name="Requests",
    )
    session.commit()
    assert runner.started == [job.id]
    done = _finish(context, job.id)
    assert done.status == "done", done.error
    (row,) = _processes(session, owner)
    assert row.name == "Requests"
    assert jobs.result_of(done)["columns"]["activity"] == "Activity"
    process = repo.parse_document(repo.current_version(session, row).document).process
    assert {step.name for step in process.steps()} >= {"register request", "decide"}
    assert "no start timestamps" in jobs.result_of(done)["warnings"][0]


def test_an_xes_log_needs_no_columns(session, owner, context):
    runner = Recorder()
    job = _begin(session, owner, "running-example.xes", LOG_XES.read_bytes())
    assert imports.log_preview(session, job) is None
    imports.choose_log_options(session, runner, job, columns={}, keep=0.8)
    session.commit()
    assert _finish(context, job.id).status == "done"
    assert [row.name for row in _processes(session, owner)] == ["running-example"]


def test_the_mapping_must_name_the_needed_columns_once_each(session, owner):
    job = _begin(session, owner, "running-example.csv", LOG_CSV.read_bytes())
    base = {"case": "case:concept:name", "activity": "concept:name", "time": "time:timestamp"}
    with pytest.raises(InvalidInput, match="Choose the activity column") as missing:
        imports.choose_log_options(
            session, Recorder(), job, columns={**base, "activity": None}, keep=0.8
        )
    assert missing.value.field == "activity"
    with pytest.raises(InvalidInput, match="chosen twice") as twice:
        imports.choose_log_options(
            session, Recorder(), job, columns={**base, "resource": "concept:name"}, keep=0.8
        )
    assert twice.value.field in ("activity", "resource")
    with pytest.raises(InvalidInput, match="between 1% and 100%"):
        imports.choose_log_options(session, Recorder(), job, columns=base, keep=0)


def test_a_log_that_cannot_be_read_fails_with_the_readers_message(session, owner, context):
    data = b"case_id,activity,timestamp\n1,a,2024-01-01 10:00\n2,b,not a time\n"
    job = _begin(session, owner, "broken.csv", data)
    imports.choose_log_options(
        session,
        Recorder(),
        job,
        columns={"case": "case_id", "activity": "activity", "time": "timestamp"},
        keep=1.0,
    )
    session.commit()
    failed = _finish(context, job.id)
    assert failed.status == "failed"
    assert failed.message.startswith("broken.csv could not be imported: broken.csv")
    assert "not a time" in failed.message
    assert "/tmp" not in failed.error and "leanlane-log-" not in failed.error
    assert _processes(session, owner) == []


def test_hostile_xml_is_refused_and_nothing_is_stored(session, owner, context):
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</definitions>'
    )
    job = _begin(session, owner, "evil.bpmn", hostile)
    failed = _finish(context, job.id)
    assert failed.status == "failed"
    assert "evil.bpmn could not be imported" in failed.message
    assert "document type" in failed.message
    assert _processes(session, owner) == []


def test_a_step_list_with_mistakes_fails_listing_every_row(session, owner, context):
    data = b"name,touch_minutes,next\nCheck,ten,Nowhere\n"
    failed = _finish(context, _begin(session, owner, "list.csv", data).id)
    assert failed.status == "failed"
    assert "list.csv: row 2, column 'touch_minutes': must be a number (got 'ten')" in failed.error
    assert "there is no step 'Nowhere'" in failed.error


def test_files_over_the_limit_of_their_kind_are_refused_before_they_are_stored(session, owner):
    big = b"name\n" + b"x\n" * (imports.LIMITS[imports.STEPS_CSV] // 2)
    with pytest.raises(InvalidInput, match="a CSV step list may be at most 5 MiB") as caught:
        _begin(session, owner, "big.csv", big, kind=imports.STEPS_CSV)
    assert caught.value.field == "file"
    session.rollback()
    assert session.scalar(select(t.Job.id)) is None


def test_a_file_of_no_known_kind_is_refused_naming_the_kind_field(session, owner):
    with pytest.raises(InvalidInput, match=r"Cannot tell what notes\.bin is") as caught:
        _begin(session, owner, "notes.bin", b"\x00\x01")
    assert caught.value.field == "kind"


def test_a_process_exports_as_a_step_list_that_imports_again(session, owner, context, make):
    org = session.get(t.Organisation, owner.org_id)
    rows = make.model(org, "insurance_claim.yaml")
    text = imports.export_steps(session, rows["claims"])
    job = _begin(session, owner, "claims.csv", text.encode("utf-8"))
    done = _finish(context, job.id)
    assert done.status == "done", done.error
    again = session.scalar(select(t.Process).where(t.Process.key == "claims-handling"))
    original = repo.parse_document(repo.current_version(session, rows["claims"]).document).process
    copy = repo.parse_document(repo.current_version(session, again).document).process
    assert [s.id for s in copy.steps()] == [s.id for s in original.steps()]
    assert set(copy.graph.edges) == set(original.graph.edges)
    assert again.name == "Claims handling"
