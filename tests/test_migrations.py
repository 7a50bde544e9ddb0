"""The Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL,
undo it completely, and ``leanlane migrate`` run again on a live database keeps its data.

Each test works on a database of its own (a fresh SQLite file, or a PostgreSQL database created
and dropped here), never on the suite's shared test database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import web
from web import cli, database
from workflow.adapters import tables as t
from workflow.adapters.database import (
    MIGRATIONS_DIR,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    upgrade,
)
from workflow.services import accounts
from workflow.services.processes import import_model

MODELS = Path(__file__).resolve().parent.parent / "process_models"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _postgres_admin_url() -> str:
    """The server of ``DATABASE_URL`` when it is PostgreSQL, else the local default one."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgresql", "postgres:")):
        url = make_url(configured)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url.set(database="postgres").render_as_string(hide_password=False)
    return DEFAULT_POSTGRES


def _postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    admin = create_engine(
        _postgres_admin_url(), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        reason = str(exc.orig or exc).splitlines()[0]
        pytest.skip(f"no PostgreSQL server answers at {_postgres_admin_url()}: {reason}")
    name = f"leanlane_migrations_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(_postgres_admin_url()).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def empty_engine(empty_database_url) -> Iterator[Engine]:
    engine = make_engine(empty_database_url)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def _schema_differences(engine: Engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), t.metadata)


def _revisions_oldest_first() -> list[str]:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def test_upgrading_an_empty_database_builds_exactly_the_declared_tables(empty_engine):
    upgrade(empty_engine)

    assert _tables(empty_engine) == set(t.metadata.tables) | {"alembic_version"}
    with empty_engine.connect() as connection:
        inspector = inspect(connection)
        for name, table in t.metadata.tables.items():
            columns = {column["name"] for column in inspector.get_columns(name)}
            assert columns == {column.name for column in table.columns}, name
    assert current_revision(empty_engine) == head_revision()


def test_the_migrated_schema_matches_the_code_as_alembic_check_would_see_it(empty_engine):
    upgrade(empty_engine)

    assert _schema_differences(empty_engine) == []


def test_downgrading_to_base_removes_every_table(empty_engine):
    upgrade(empty_engine)
    downgrade(empty_engine)

    assert _tables(empty_engine) <= {"alembic_version"}
    assert current_revision(empty_engine) is None


def test_every_revision_upgrades_and_downgrades_one_step_at_a_time(empty_engine):
    revisions = _revisions_oldest_first()
    assert revisions, "migrations/versions holds no revision"
    for revision in revisions:
        upgrade(empty_engine, revision)
        assert current_revision(empty_engine) == revision
    for revision in reversed(revisions[:-1]):
        downgrade(empty_engine, revision)
        assert current_revision(empty_engine) == revision
    downgrade(empty_engine, "base")
    upgrade(empty_engine)

    assert _schema_differences(empty_engine) == []


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.scalar(select(func.count()).select_from(table))
            for name, table in t.metadata.tables.items()
        }


@pytest.fixture
def leanlane_migrate(empty_database_url, monkeypatch) -> Iterator:
    """Runs ``leanlane migrate`` in-process on the test's database; the apps it builds have
    their connection pools closed afterwards (the database is dropped at the end)."""
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    monkeypatch.setenv("LEANLANE_SECRET_KEY", "migration-test")
    apps = []
    build = web.create_app

    def create_app(*args, **kwargs):
        apps.append(build(*args, **kwargs))
        return apps[-1]

    monkeypatch.setattr(web, "create_app", create_app)
    yield lambda: cli.main(["migrate"])
    for app in apps:
        database.engine(app).dispose()


def test_running_leanlane_migrate_again_keeps_every_row(leanlane_migrate, empty_engine, capsys):
    assert leanlane_migrate() == 0
    assert "up to date" in capsys.readouterr().out
    with empty_engine.begin() as connection, Session(bind=connection) as session:
        org = accounts.create_organisation(session, "Kept Ltd")
        accounts.create_user(
            session, org, "kept@kept.example", "Kim Kept", "owner", "correct horse battery"
        )
        import_model(
            session,
            org.id,
            None,
            (MODELS / "insurance_claim.yaml").read_text(encoding="utf-8"),
            source="insurance_claim.yaml",
        )
        session.flush()
    before = _counts(empty_engine)
    assert before["users"] == 1 and before["processes"] > 0 and before["flags"] > 0

    assert leanlane_migrate() == 0

    assert _counts(empty_engine) == before
    assert current_revision(empty_engine) == head_revision()
    assert _schema_differences(empty_engine) == []
