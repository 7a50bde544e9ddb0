"""Moving an organisation: export everything it owns, import it as a new organisation, and
nothing is lost; a damaged or hostile archive is refused with a clear reason and writes
nothing."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, delete, select

from tests.org_archive_helpers import (
    OWNED,
    column_index,
    counts,
    normalised,
    repacked,
    rich_archive,
    rich_organisation,
    without_exports,
)
from web import create_app, database
from workflow.adapters import org_tables
from workflow.adapters import tables as t
from workflow.adapters.database import make_engine, transaction, upgrade
from workflow.services import org_archive
from workflow.services.archive_file import ArchiveLimits, unpack
from workflow.services.org_archive import ArchiveError, import_organisation


def test_every_table_is_archived_or_left_out_with_a_reason():
    assert org_tables.undecided(t.metadata) == []
    assert all(reason.strip() for reason in org_tables.EXCLUDED_TABLES.values())
    assert all(reason.strip() for reason in org_tables.EXCLUDED_COLUMNS.values())
    assert {o.name for o in OWNED} | set(org_tables.EXCLUDED_TABLES) == set(t.metadata.tables)


def test_a_new_table_joins_the_archive_by_its_organisation_or_fails_the_coverage_check():
    schema = MetaData()
    for table in t.metadata.sorted_tables:
        table.to_metadata(schema)
    Table(
        "visits",
        schema,
        Column("id", Integer, primary_key=True),
        Column("org_id", ForeignKey("organisations.id"), nullable=False),
        Column("actor_id", ForeignKey("users.id"), nullable=True),
    )
    Table("site_settings", schema, Column("id", Integer, primary_key=True))
    Table(
        "notes",
        schema,
        Column("id", Integer, primary_key=True),
        Column("flag_id", ForeignKey("flags.id"), nullable=False),
        Column("target_id", Integer),
    )
    owned = {o.name: o for o in org_tables.owned_tables(schema)}
    assert owned["visits"].owner == "org_id"
    assert owned["visits"].references["actor_id"] == "users"
    assert owned["notes"].owner == "flag_id"
    assert org_tables.undecided(schema) == [
        "table site_settings: not owned by an organisation and not in EXCLUDED_TABLES",
        "column notes.target_id: looks like a row id but has no foreign key; declare it in "
        "TEXT_REFERENCES or NOT_REFERENCES",
    ]


@pytest.fixture
def other_database(tmp_path):
    """A second, empty Leanlane database (SQLite) with an app of its own."""
    url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    other = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "other",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "RENDER_CACHE_DIR": str(tmp_path / "other-renders"),
        }
    )
    yield other
    database.engine(other).dispose()


def _export(app, org_id: int) -> bytes:
    return org_archive.export_snapshot(database.session_factory(app), org_id)[1]


def _import(app, data: bytes, **options) -> org_archive.ImportReport:
    with transaction(database.session_factory(app)) as session:
        return import_organisation(session, data, **options)


def _logs_in_and_reads_pages(app, email: str, password: str, org_id: int) -> None:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    with database.session_factory(app)() as session:
        claims = session.scalar(
            select(t.Process).where(t.Process.org_id == org_id, t.Process.key == "claims")
        )
        version = session.get(
            t.ProcessVersion,
            max(
                session.scalars(
                    select(t.ProcessVersion.id).where(t.ProcessVersion.process_id == claims.id)
                )
            ),
        )
        svg = version.map_svg or ""
    for path in (
        "/processes",
        f"/processes/{claims.id}",
        "/review",
        f"/review/{claims.id}",
        "/signals",
    ):
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code)
    assert "Claims" in client.get("/processes").get_data(as_text=True)
    assert f"/processes/{claims.id}/steps/" in svg


def test_an_organisation_moves_to_another_database_and_back_with_nothing_lost(
    app, session, make, other_database
):
    bystander = make.org("Bystander")
    make.user(bystander, "admin", email="someone@bystander.example")
    org, passwords = rich_organisation(session, app)
    session.commit()
    before_bystander = normalised(_export(app, bystander.id))
    first = _export(app, org.id)
    rows = {name: len(table.rows) for name, table in unpack(first).tables.items()}
    assert [name for name, n in rows.items() if n == 0] == [], "every table needs a row here"

    with transaction(database.session_factory(other_database)) as other:
        make_other = type(make)(other_database, other)
        make_other.org("Already here")
    moved = _import(other_database, first, name="Moved Ltd")
    assert moved.name == "Moved Ltd" and moved.rows == rows
    second = _export(other_database, moved.org_id)
    assert normalised(second) == normalised(first)
    admin = "admin@demo.leanlane.example"
    _logs_in_and_reads_pages(other_database, admin, passwords[admin], moved.org_id)

    session.execute(delete(t.Organisation).where(t.Organisation.id == org.id))
    session.commit()
    back = _import(app, second)
    assert normalised(_export(app, back.org_id)) == normalised(first)
    reviewer = "reviewer@demo.leanlane.example"
    _logs_in_and_reads_pages(app, reviewer, passwords[reviewer], back.org_id)
    after_bystander = normalised(_export(app, bystander.id))
    exported = [
        e for e in after_bystander["audit_events"] if e["action"] == "organisation.exported"
    ]
    assert len(exported) == 1, "taking the first archive is in the bystander's trail"
    assert without_exports(after_bystander) == before_bystander


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> bytes:
    return rich_archive(tmp_path_factory.mktemp("source"))


def test_a_copy_in_the_same_database_takes_tagged_addresses_and_fresh_secrets(
    app, session, archive
):
    first = _import(app, archive)
    copy = _import(app, archive, name="Sandbox", email_tag="copy")
    assert copy.slug == "sandbox" and copy.rows["api_tokens"] == 0
    assert copy.rows["users"] == first.rows["users"]
    assert any("public_token" in note for note in copy.notes)
    assert any("invite_token_hash" in note for note in copy.notes)
    assert any("api_tokens were left out" in note for note in copy.notes)
    emails = set(session.scalars(select(t.User.email).where(t.User.org_id == copy.org_id)))
    assert "admin+copy@demo.leanlane.example" in emails
    tokens = {
        org_id: set(
            session.scalars(
                select(t.Process.public_token).where(
                    t.Process.org_id == org_id, t.Process.public_token.is_not(None)
                )
            )
        )
        for org_id in (first.org_id, copy.org_id)
    }
    assert tokens[first.org_id] and not tokens[first.org_id] & tokens[copy.org_id]


def test_addresses_already_in_the_database_are_named_and_nothing_is_written(app, session, archive):
    _import(app, archive)
    before = counts(session)
    with pytest.raises(ArchiveError) as refused:
        _import(app, archive)
    assert "admin@demo.leanlane.example" in str(refused.value)
    assert "--email-tag" in str(refused.value)
    session.rollback()
    assert counts(session) == before


def test_an_unfinished_job_arrives_failed_without_its_file_and_links_follow_new_ids(
    app, session, archive
):
    tables = unpack(archive).tables
    jobs = tables["jobs"]
    assert "payload" not in jobs.columns
    statuses = {row[jobs.columns.index("status")] for row in jobs.rows}
    assert statuses == {"done", "failed"}
    report = _import(app, archive)
    claims = session.scalar(
        select(t.Process).where(t.Process.org_id == report.org_id, t.Process.key == "claims")
    )
    done = session.scalar(
        select(t.Job).where(t.Job.org_id == report.org_id, t.Job.status == "done")
    )
    assert json.loads(done.result)["processes"][0]["id"] == claims.id
    failed = session.scalar(
        select(t.Job).where(t.Job.org_id == report.org_id, t.Job.status == "failed")
    )
    assert "had not finished" in failed.error and failed.payload is None


def _set(table: str, column: str, value, row: int = 0):
    def change(tables):
        tables[table]["rows"][row][column_index(tables, table, column)] = value

    return change


def _rewrite_member(data: bytes, member: str, transform) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(
                info.filename, transform(content) if info.filename == member else content
            )
    return out.getvalue()


def _with_manifest(data: bytes, change) -> bytes:
    def transform(content: bytes) -> bytes:
        manifest = json.loads(content)
        change(manifest)
        return json.dumps(manifest).encode()

    return _rewrite_member(data, "manifest.json", transform)


def _bomb(data: bytes) -> bytes:
    """A member that unpacks to 64 MiB from about 64 KiB (its checksum is never reached)."""
    return _rewrite_member(data, "tables/flags.json", lambda _c: b" " * (64 * 1024 * 1024))


HOSTILE = {
    "not a zip": (lambda a: b"name,email\nAda,ada@example.org\n", "not a complete zip file"),
    "truncated": (lambda a: a[: len(a) // 2], "not a complete zip file"),
    "wrong format version": (
        lambda a: _with_manifest(a, lambda m: m.update(format_version=2)),
        "format_version 2 is not supported",
    ),
    "not an organisation archive": (
        lambda a: _with_manifest(a, lambda m: m.update(format="something-else")),
        "does not describe a Leanlane organisation archive",
    ),
    "edited after export": (
        lambda a: _rewrite_member(a, "tables/flags.json", lambda c: c.replace(b"Slow", b"Fast")),
        "tables/flags.json does not match its checksum",
    ),
    "zip bomb": (_bomb, "refused as a possible zip bomb"),
    "duplicate id": (
        lambda a: repacked(a, lambda ts: ts["users"]["rows"].append(list(ts["users"]["rows"][0]))),
        "is used twice",
    ),
    "unknown table": (
        lambda a: repacked(a, lambda ts: ts.update(secrets={"columns": ["id"], "rows": []})),
        "table 'secrets' is not one this release archives",
    ),
    "missing required column": (
        lambda a: repacked(a, lambda ts: _drop_column(ts, "users", "email")),
        "required column 'email' is missing",
    ),
}
#: One value changed: (table, column, new value, what the refusal says).
WRONG_VALUES = {
    "dangling reference": (
        "flags",
        "process_id",
        987654,
        "tables/flags.json row 1: process_id 987654 refers to no row of processes",
    ),
    "wrong type": (
        "users",
        "active",
        "yes",
        "tables/users.json row 1: active must be true or false (found 'yes')",
    ),
    "number as text": ("flags", "severity", "4", "severity must be a whole number"),
    "text too long": ("users", "name", "x" * 201, "name must be at most 200 characters"),
    "NUL in text": ("flags", "text", "a\x00b", "text must not contain NUL characters"),
    "integer out of range": ("flags", "severity", 2**40, "severity is out of range"),
    "organisation without a name": (
        "organisations",
        "name",
        "  ",
        "the organisation has no name; give it one (--name)",
    ),
    "unknown role": ("users", "role", "boss", "role must be one of admin, owner, reviewer, staff"),
    "missing required value": ("process_versions", "document", None, "document is required"),
    "not a process": ("process_versions", "document", "x: [", "document document: line 2"),
    "current version missing": (
        "processes",
        "current_version",
        99,
        "current_version 99 is not one of the versions",
    ),
    "bad date": ("users", "created_at", "yesterday", "created_at must be a date and time"),
}


def _with_value(table: str, column: str, value):
    change = _set(table, column, value)
    return lambda data: repacked(data, change)


for _case, (_table, _column, _value, _expected) in WRONG_VALUES.items():
    HOSTILE[_case] = (_with_value(_table, _column, _value), _expected)


def _drop_column(tables, table: str, column: str) -> None:
    index = column_index(tables, table, column)
    tables[table]["columns"].pop(index)
    for row in tables[table]["rows"]:
        row.pop(index)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_archive_is_refused_clearly_and_writes_nothing(app, session, archive, case):
    make_hostile, expected = HOSTILE[case]
    before = counts(session)
    limits = ArchiveLimits(max_unpacked_bytes=8 * 1024 * 1024)
    with pytest.raises(ArchiveError) as refused:
        _import(app, make_hostile(archive), limits=limits)
    assert expected in "\n".join(refused.value.problems), refused.value.problems
    assert counts(session) == before


def test_an_oversized_archive_is_refused_before_it_is_opened(app, session, archive):
    with pytest.raises(ArchiveError, match="at most 1,000 are accepted"):
        _import(app, archive, limits=ArchiveLimits(max_bytes=1000))
    assert session.scalar(select(t.Organisation.id)) is None


def test_the_second_organisation_of_the_target_database_is_untouched(app, session, make, archive):
    bystander = make.org("Bystander")
    user = make.user(bystander, "admin", email="a@bystander.example")
    before = normalised(_export(app, bystander.id))
    _import(app, archive)
    assert without_exports(normalised(_export(app, bystander.id))) == before
    assert session.get(t.User, user.id).org_id == bystander.id


def test_an_archive_from_an_older_release_without_a_newer_table_or_column_imports(
    app, session, archive
):
    def as_older_release(tables):
        del tables["pulse_answers"]
        index = column_index(tables, "jobs", "started_at")
        tables["jobs"]["columns"].pop(index)
        for row in tables["jobs"]["rows"]:
            row.pop(index)

    report = _import(app, repacked(archive, as_older_release))
    assert report.rows["pulse_answers"] == 0 and report.rows["jobs"] == 2
    started = session.scalars(select(t.Job.started_at).where(t.Job.org_id == report.org_id))
    assert list(started) == [None, None]


def test_an_archive_from_a_newer_release_is_refused(app, session, archive):
    def as_newer_release(tables):
        tables["users"]["columns"].append("nickname")
        for row in tables["users"]["rows"]:
            row.append("Ada")

    with pytest.raises(ArchiveError, match="column 'nickname' is not part of this release"):
        _import(app, repacked(archive, as_newer_release))
    assert session.scalar(select(t.Organisation.id)) is None


def test_audit_events_name_the_imported_rows(app, session, archive):
    report = _import(app, archive)
    events = list(session.scalars(select(t.AuditEvent).where(t.AuditEvent.org_id == report.org_id)))
    kinds = dict(org_tables.TEXT_REFERENCES[("audit_events", "subject_id")].kinds)
    about_rows = [e for e in events if e.subject_kind in kinds and e.subject_id]
    assert {e.subject_kind for e in about_rows} >= {"user", "process", "api_token"}
    for event in about_rows:
        table = t.metadata.tables[kinds[event.subject_kind]]
        row = session.execute(select(table).where(table.c.id == int(event.subject_id))).one()
        owner = row.id if table.name == "organisations" else getattr(row, "org_id", None)
        if owner is None:
            owner = session.get(t.User, row.user_id).org_id
        assert owner == report.org_id, (event.action, event.subject_id)
    assert all(
        e.actor_id is None or session.get(t.User, e.actor_id).org_id == report.org_id
        for e in events
    )
