"""Fixtures for the web app and services: a migrated database (SQLite, or PostgreSQL when
``DATABASE_URL`` is set), an app per test with its tables emptied afterwards, the context and
in-process runner of background jobs, and small factories for organisations, users and
processes."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from web import create_app, database, rendering
from web.imports import RUNNER
from workflow.adapters import tables as t
from workflow.adapters.database import make_engine, upgrade
from workflow.services import accounts, jobs
from workflow.services.processes import import_model

MODELS = Path(__file__).resolve().parent.parent / "process_models"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """argon2 with production costs takes ~50 ms a hash; tests hash hundreds."""
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    accounts._DUMMY_HASH = accounts._hasher.hash("dummy")


def _wipe(engine) -> None:
    with engine.begin() as connection:
        for table in reversed(t.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    )
    engine = make_engine(url)
    with engine.begin() as connection:
        t.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine)
    engine.dispose()
    return url


def app_config(database_url: str, tmp_path: Path, **overrides) -> dict:
    """The configuration of a test app; tests that build their own app add ``overrides``."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RENDER_CACHE_DIR": str(tmp_path / "renders"),
        **overrides,
    }


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(app_config(database_url, tmp_path))
    _wipe(database.engine(app))
    yield app
    _wipe(database.engine(app))
    database.engine(app).dispose()


@pytest.fixture
def context(app) -> jobs.JobContext:
    """What background jobs run with in the test app: its sessions, renderer and step links."""
    return jobs.JobContext(
        database.session_factory(app), rendering.renderer(app), rendering.STEP_URL
    )


@pytest.fixture
def runner(app, context):
    """The in-process runner, whatever REDIS_URL says where the tests run."""
    threads = jobs.ThreadRunner(context)
    app.extensions[RUNNER] = threads
    yield threads
    threads.shutdown()


@pytest.fixture
def owner(make, client):
    """A process owner of the organisation "Alpha", logged in on ``client``."""
    org = make.org("Alpha")
    user = make.user(org, "owner")
    make.login(client, user)
    return user


@pytest.fixture
def rate_limited(app, database_url, tmp_path):
    """Builds an app with rate limits on, over the test database, from config overrides. The
    limiter is shared by every app of the process and follows the one set up last, so these
    are made after ``app``; its counts are emptied before and after."""
    from web.extensions import limiter

    made = []

    def build(**overrides):
        limited = create_app(
            app_config(
                database_url,
                tmp_path,
                RATELIMIT_ENABLED=True,
                RATELIMIT_STORAGE_URI="memory://",
                **overrides,
            )
        )
        limiter.reset()
        made.append(limited)
        return limited

    yield build
    limiter.reset()
    for limited in made:
        database.engine(limited).dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """A database session outside any request, for arranging and checking rows."""
    factory = database.session_factory(app)
    with factory() as s:
        yield s


class Factory:
    """Builds rows the way users would, through the services, and logs clients in."""

    def __init__(self, app, session) -> None:
        self.app = app
        self.session = session
        self._count = 0

    def org(self, name: str = "Acme") -> t.Organisation:
        org = accounts.create_organisation(self.session, name)
        self.session.commit()
        return org

    def user(self, org: t.Organisation, role: str = "staff", *, email: str = "", name: str = ""):
        self._count += 1
        email = email or f"{role}{self._count}@{org.slug}.example"
        user = accounts.create_user(
            self.session, org, email, name or f"{role.title()} {self._count}", role, PASSWORD
        )
        self.session.commit()
        return user

    def model(self, org: t.Organisation, filename: str = "insurance_claim.yaml", author=None):
        """Import a shipped model file; returns its process rows by key."""
        rows = import_model(
            self.session,
            org.id,
            author.id if author else None,
            (MODELS / filename).read_text(encoding="utf-8"),
            source=filename,
            renderer=rendering.renderer(self.app),
            step_url=rendering.step_url,
        )
        self.session.commit()
        return {row.key: row for row in rows}

    def login(self, client, user) -> None:
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def make(app, session) -> Factory:
    return Factory(app, session)


@pytest.fixture
def claim_org(make):
    """An organisation with the shipped insurance claim model (the journey ``file_claim`` and
    the process ``claims`` behind it) and one user of each role."""
    org = make.org()
    rows = make.model(org)
    return SimpleNamespace(
        org=org,
        journey=rows["file_claim"],
        claims=rows["claims"],
        reviewer=make.user(org, "reviewer"),
        owner=make.user(org, "owner"),
        staff=make.user(org, "staff"),
        admin=make.user(org, "admin"),
    )
