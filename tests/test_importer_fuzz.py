"""Generated and mutated files through the importers: the CSV step list, the CSV event log and
the YAML process format, then through the web app's upload routes.

Whatever comes in (random bytes, other encodings, byte-order marks, huge cells, spreadsheet
formulas, YAML tags, anchors and aliases, deep nesting, keys that are not words), an importer
either gives a usable result or refuses with its own error type and a one-line message naming
the file; never another exception. Through the web, an upload answers a redirect or a 4xx page
with the message, never a 500, and an import job ends done or failed with the importer's
message, never on an unexpected error. Compressed bombs and over-size files are refused with a
clear message, with bounded memory and nothing stored.

Run with ``--hypothesis-show-statistics`` to see how many inputs each property tried.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.helpers import mutate
from web.imports import RUNNER
from workflow.adapters import tables as t
from workflow.errors import ModelError
from workflow.interchange.eventlog import EventLogError
from workflow.interchange.eventlog_csv import read_csv_log
from workflow.interchange.steps_csv import COLUMNS, read_steps_csv, write_steps_csv
from workflow.model import ProcessModel
from workflow.services import imports, jobs
from workflow.yaml_format import MAX_FILE_BYTES, loads_model

MODELS = Path(__file__).resolve().parent.parent / "process_models"
SHIPPED_YAML = (MODELS / "insurance_claim.yaml").read_text(encoding="utf-8")
SHIPPED_STEPS = write_steps_csv(loads_model(SHIPPED_YAML).processes[0]).encode("utf-8")
EVENT_LOG = (
    b"case,activity,timestamp,resource\n"
    b"1,register,2024-01-01 10:00:00,ann\n"
    b"1,check,2024-01-02 11:00:00,bob\n"
    b"2,register,2024-01-03 09:00:00,ann\n"
    b"2,check,2024-01-03 12:00:00,bob\n"
)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
WEB = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- what hostile files are made of ----------------------------------------------------------
FORMULAS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")']
ODD_TEXT = [
    "",
    " ",
    '"',
    '""quoted""',
    "a,b;c\td|e",
    "line\nbreak",
    "\x00",
    "\u202eevil\u202c",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "😀" * 50,
    "x" * 70_000,
    "1e309",
    "-0",
    "NaN",
    "0x1F",
    "2024-02-30 25:61:61",
    "31/12/2024",
]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "latin-1", "cp1252", "shift_jis"]
cells = st.sampled_from(FORMULAS + ODD_TEXT) | st.text(max_size=30)


def mutated(valid: bytes) -> st.SearchStrategy[bytes]:
    """``valid`` with a few bytes deleted, inserted or replaced."""
    edits = st.lists(
        st.tuples(
            st.integers(0, len(valid)),
            st.sampled_from(["delete", "insert", "replace"]),
            st.binary(min_size=1, max_size=6)
            | st.sampled_from([b",", b";", b"\n", b'"', b"\x00", b"\xff", b"\xc3", b"\t", b"="]),
        ),
        min_size=1,
        max_size=8,
    )

    return edits.map(lambda changes: mutate(valid, changes))


@st.composite
def tables(draw, names: list[str]) -> bytes:
    """A CSV made of header names and hostile cells, in a drawn separator and encoding."""
    header = draw(
        st.lists(st.sampled_from(names) | st.text(max_size=12), min_size=0, max_size=len(names))
    )
    rows = draw(st.lists(st.lists(cells, max_size=len(header) + 2), max_size=6))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=draw(st.sampled_from([",", ";", "\t", "|"])))
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(ENCODINGS))
    return text.encode(encoding, errors="replace")


steps_files = st.one_of(
    st.binary(max_size=400),
    mutated(SHIPPED_STEPS),
    tables([*COLUMNS, "name", "next"]),
    st.sampled_from(
        [
            b"\xef\xbb\xbf" + SHIPPED_STEPS,
            b"\xff\xfe" + SHIPPED_STEPS.decode().encode("utf-16-le"),
            gzip.compress(SHIPPED_STEPS),
        ]
    ),
)
log_files = st.one_of(
    st.binary(max_size=400),
    mutated(EVENT_LOG),
    tables(["case", "activity", "timestamp", "resource", "case:concept:name", "time:timestamp"]),
    st.sampled_from(
        [
            b"\xef\xbb\xbf" + EVENT_LOG,
            EVENT_LOG.decode().encode("utf-16"),
            EVENT_LOG.replace(b"ann", b"=cmd|' /C calc'!A0"),
            EVENT_LOG.replace(b"register", b"r" * 200_000),
        ]
    ),
)

YAML_FRAGMENTS = [
    "!!python/object/apply:os.system ['echo hi']",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!custom x",
    "&anchor value",
    "*anchor",
    "<<: {a: 1}",
    "? [a, b]\n: c",
    "1: number key",
    "null: x",
    "true: x",
    "2024-01-01: x",
    "1.5: x",
    "1e999",
    ".nan",
    "-.inf",
    "123456789012345678901234567890",
    "'unclosed",
    "{a: [b, {c: d}]}",
    "\t- tab indented",
    "%YAML 1.1\n---",
    "--- !!map\n...",
    "\ufeffleanlane: 1",
    "\x00",
    "\u202e",
    "{{7*7}}",
    "x" * 70_000,
]


@st.composite
def yaml_texts(draw) -> str:
    """The shipped model with hostile fragments put in at line starts or after a key."""
    lines = SHIPPED_YAML.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines)))
        fragment = draw(st.sampled_from(YAML_FRAGMENTS) | st.text(max_size=20))
        if draw(st.booleans()) and at < len(lines) and ":" in lines[at]:
            key = lines[at].split(":", 1)[0]
            lines[at] = f"{key}: {fragment}"
        else:
            indent = " " * draw(st.sampled_from([0, 2, 4, 6, 8]))
            lines.insert(at, indent + fragment)
    return "\n".join(lines)


@st.composite
def laughs(draw) -> str:
    """A "billion laughs" document of drawn width and depth."""
    width, depth = draw(st.integers(2, 12)), draw(st.integers(2, 12))
    levels = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, depth):
        levels.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "leanlane: 1\nname: x\n" + "\n".join(levels) + "\nprocesses: []"


@st.composite
def nested(draw) -> str:
    depth = draw(st.integers(10, 20_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("- ", "")]))
    if opener == "- ":
        return "\n".join(" " * i + "- " for i in range(min(depth, 3000))) + "x"
    return "leanlane: 1\nname: " + opener * depth + "x" + closer * depth


yaml_files = st.one_of(
    st.text(max_size=300),
    yaml_texts(),
    laughs(),
    nested(),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")),
)


# --- the importers on their own --------------------------------------------------------------
def assert_clear(message: str, source: str) -> None:
    assert message.strip(), "an error without a message"
    assert "\n" not in message, message[:300]
    assert source in message, message[:300]
    assert "Traceback" not in message


def read_or_refused(read, error: type[Exception], source: str):
    """What ``read()`` gives, or None when it refused with ``error`` and a clear message."""
    try:
        return read()
    except error as exc:
        assert_clear(str(exc), source)
        return None


@FUZZ
@given(data=steps_files)
def test_step_lists_are_read_or_refused_with_a_model_error(data):
    process = read_or_refused(lambda: read_steps_csv(data, "fuzz.csv"), ModelError, "fuzz.csv")
    assert process is None or process.steps()


@FUZZ
@given(data=log_files)
def test_event_logs_are_read_or_refused_with_an_event_log_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("log") / "fuzz.csv"
    path.write_bytes(data)
    log = read_or_refused(lambda: read_csv_log(path), EventLogError, str(path))
    assert log is None or (len(log) >= 1 and log.frame["time"].null_count() == 0)


@FUZZ
@given(text=yaml_files)
def test_yaml_files_are_read_or_refused_with_a_model_error(text):
    model = read_or_refused(lambda: loads_model(text, "fuzz.yaml"), ModelError, "fuzz.yaml")
    assert model is None or (isinstance(model, ProcessModel) and model.processes)


@settings(max_examples=40, deadline=None)
@given(text=laughs())
def test_aliases_are_refused_before_anything_is_expanded(text):
    with pytest.raises(ModelError, match="aliases"):
        loads_model(text, "laughs.yaml")


# --- through the web app ---------------------------------------------------------------------
class InlineRunner:
    """Runs each started job to its end at once, in the test's thread."""

    def __init__(self, context: jobs.JobContext) -> None:
        self.context = context
        self.outcomes: list[str] = []

    def start(self, job_id: int, queued_at=None) -> None:
        self.outcomes.append(jobs.run(job_id, self.context))


@pytest.fixture
def inline(app, context):
    runner = InlineRunner(context)
    app.extensions[RUNNER] = runner
    return runner


def post_file(client, path: str, filename: str, data: bytes, **fields):
    """A multipart upload encoded in memory (the test client would spool a large body to a
    temporary file that it never closes)."""
    file = FileStorage(io.BytesIO(data), filename=filename)
    boundary, body = encode_multipart({"file": file, **fields})
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def upload(client, filename: str, data: bytes, kind: str = "auto"):
    return post_file(client, "/processes/import/file", filename, data, kind=kind)


def count(session, table, **where) -> int:
    session.expire_all()
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(getattr(table, column) == value)
    return session.scalar(query)


def check_upload(client, session, inline, owner, filename: str, data: bytes, kind: str) -> None:
    """An upload is refused with a 4xx page naming the field, or becomes a job; a job that
    failed says why in the importer's words and stored nothing."""
    processes = count(session, t.Process, org_id=owner.org_id)
    jobs_before = count(session, t.Job)
    response = upload(client, filename, data, kind)
    assert response.status_code in (302, 413, 422), response.status_code
    if response.status_code != 302:
        page = response.get_data(as_text=True)
        assert 'class="field-error"' in page or 'class="form-errors"' in page
        assert "Choose a file to import" not in page
        assert count(session, t.Job) == jobs_before
        return
    job_id = int(re.search(r"/jobs/(\d+)", response.headers["Location"]).group(1))
    session.expire_all()
    job = session.get(t.Job, job_id)
    if imports.awaits_options(job):
        options = client.post(
            f"/jobs/{job_id}/options", data={"keep": "80", "case": "", "activity": "", "time": ""}
        )
        assert options.status_code in (200, 302, 422), options.status_code
        session.expire_all()
        job = session.get(t.Job, job_id)
        if imports.awaits_options(job):
            return
    assert job.status in ("done", "failed"), job.status
    if job.status == "failed":
        assert "unexpected error" not in job.message, job.error
        assert job.payload is None
        assert count(session, t.Process, org_id=owner.org_id) == processes
        page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
        assert "nothing was stored" in page


@WEB
@given(data=steps_files, kind=st.sampled_from(["auto", "steps_csv"]))
def test_uploaded_step_lists_never_fail_unexpectedly(client, session, inline, owner, data, kind):
    check_upload(client, session, inline, owner, "fuzz.csv", data, kind)


@WEB
@given(data=log_files)
def test_uploaded_event_logs_never_fail_unexpectedly(client, session, inline, owner, data):
    check_upload(client, session, inline, owner, "log.csv", data, "event_log")


@WEB
@given(data=st.binary(max_size=300) | mutated(SHIPPED_STEPS))
def test_uploaded_bpmn_files_never_fail_unexpectedly(client, session, inline, owner, data):
    check_upload(client, session, inline, owner, "fuzz.bpmn", data, "bpmn")


@WEB
@given(text=yaml_files, encoding=st.sampled_from(ENCODINGS))
def test_uploaded_yaml_files_are_imported_or_refused_naming_the_file(
    client, session, owner, text, encoding
):
    processes = count(session, t.Process, org_id=owner.org_id)
    data = text.encode(encoding, errors="replace")
    response = post_file(client, "/processes/import", "fuzz.yaml", data)
    assert response.status_code in (302, 422), response.status_code
    if response.status_code == 422:
        page = response.get_data(as_text=True)
        assert "Choose a .yaml file" not in page
        assert "fuzz.yaml" in page or "not UTF-8" in page
        assert count(session, t.Process, org_id=owner.org_id) == processes


# --- bombs and over-size files ---------------------------------------------------------------
def gzip_bomb(unpacked: int, head: bytes = b"<?xml version='1.0'?><log><trace>") -> bytes:
    """Gzip members that unpack to ``unpacked`` bytes of XML whitespace after ``head``; a few
    hundred KiB on the wire (members are concatenated, which gzip readers must accept)."""
    block = 16 * 1024**2
    member = gzip.compress(b" " * block, compresslevel=9)
    return gzip.compress(head) + member * (unpacked // block + 1)


def test_a_gzip_bomb_upload_is_refused_at_the_unpacked_limit_with_bounded_memory(
    client, session, inline, owner
):
    bomb = gzip_bomb(imports.MAX_XML_BYTES_UNPACKED + 16 * 1024**2)
    assert len(bomb) < 5 * 1024**2
    response = upload(client, "bomb.xes.gz", bomb)
    assert response.status_code == 302
    job_id = int(re.search(r"/jobs/(\d+)", response.headers["Location"]).group(1))
    tracemalloc.start()
    try:
        options = client.post(f"/jobs/{job_id}/options", data={"keep": "80"})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert options.status_code == 302
    session.expire_all()
    job = session.get(t.Job, job_id)
    assert job.status == "failed"
    assert "decompresses to more than 1,024 MiB of XML; larger logs are refused" in job.message
    assert "bomb.xes.gz" in job.message
    assert job.payload is None
    assert peak < 200 * 1024**2, f"{peak / 1024**2:.0f} MiB held while reading the bomb"
    assert count(session, t.Process) == 0


@pytest.mark.parametrize(
    "filename, kind, data",
    [
        ("bomb.csv", "steps_csv", gzip_bomb(64 * 1024**2, b"name\n")),
        ("bomb.bpmn", "bpmn", gzip_bomb(64 * 1024**2, b"<definitions>")),
        ("bomb.csv", "event_log", gzip_bomb(64 * 1024**2, b"case,activity,time\n")),
    ],
    ids=["steps-csv", "bpmn", "event-log-csv"],
)
def test_gzip_sent_as_another_kind_is_refused_without_being_unpacked(
    client, session, inline, owner, filename, kind, data
):
    response = upload(client, filename, data, kind)
    if response.status_code == 302:
        job_id = int(re.search(r"/jobs/(\d+)", response.headers["Location"]).group(1))
        client.post(f"/jobs/{job_id}/options", data={"keep": "80"})
        session.expire_all()
        job = session.get(t.Job, job_id)
        assert job.status == "failed", job.status
        assert "unexpected error" not in job.message and filename in job.message
        assert job.payload is None
    else:
        assert response.status_code == 422
    assert count(session, t.Process) == 0


@pytest.mark.parametrize(
    "filename, kind, size, message",
    [
        ("big.csv", "steps_csv", imports.LIMITS["steps_csv"] + 1, "larger than 5 MiB"),
        ("big.bpmn", "bpmn", imports.LIMITS["bpmn"] + 1, "larger than 10 MiB"),
        ("big.csv", "event_log", imports.MAX_EVENT_LOG_BYTES + 1, "larger than 100 MiB"),
    ],
    ids=["steps-csv", "bpmn", "event-log"],
)
def test_over_size_uploads_are_refused_naming_the_limit(
    client, session, owner, filename, kind, size, message
):
    data = b"name,next\n" + b"x" * (size - 10)
    response = upload(client, filename, data, kind)
    assert response.status_code in (413, 422)
    assert message in response.get_data(as_text=True)
    assert count(session, t.Job) == 0


def test_an_over_size_yaml_file_is_refused_naming_the_limit(client, session, owner):
    data = b"#" * (MAX_FILE_BYTES + 1)
    response = post_file(client, "/processes/import", "big.yaml", data)
    assert response.status_code == 422
    assert "larger than the 10 MiB limit" in response.get_data(as_text=True)
    assert count(session, t.Process) == 0


def test_a_yaml_body_over_the_request_limit_is_refused_before_it_is_read(client, session, owner):
    data = b"#" * (12 * 1024**2 + 1)
    response = post_file(client, "/processes/import", "huge.yaml", data)
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert count(session, t.Process) == 0
