"""The database going away: a clear 503 with Retry-After, nothing half-saved, and the app
answering again as soon as the database is back, without a restart."""

from __future__ import annotations

import logging
import shutil

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from web import create_app, database
from web.errors import DATABASE_MESSAGE, DATABASE_TITLE
from workflow.adapters import tables as t
from workflow.adapters.database import make_engine, make_session_factory, upgrade

UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/leanlane?connect_timeout=2"


def build_app(url: str, tmp_path):
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "RENDER_CACHE_DIR": str(tmp_path / "renders"),
        }
    )


def assert_unavailable_page(response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert DATABASE_TITLE in page
    assert DATABASE_MESSAGE in page


def test_an_unreachable_postgresql_answers_503_pages_and_json_then_recovers(tmp_path, database_url):
    app = build_app(UNREACHABLE_POSTGRES, tmp_path)
    client = app.test_client()

    assert_unavailable_page(client.get("/healthz"))
    api = client.get("/api/v1/processes", headers={"Authorization": "Bearer ll_" + "x" * 43})
    assert api.status_code == 503
    assert api.headers["Retry-After"] == "30"
    assert api.get_json()["error"]["code"] == "unavailable"
    assert api.get_json()["error"]["message"] == DATABASE_MESSAGE

    working = make_engine(database_url)
    app.extensions["leanlane.db"] = (working, make_session_factory(working))
    try:
        assert client.get("/healthz").status_code == 200
    finally:
        working.dispose()


def test_a_removed_sqlite_database_answers_503_until_it_is_back_and_logs_the_outage_once(
    tmp_path, caplog
):
    folder = tmp_path / "data"
    folder.mkdir()
    url = f"sqlite:///{folder / 'leanlane.sqlite3'}"
    upgrade(make_engine(url))
    app = build_app(url, tmp_path)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200

    shutil.rmtree(folder)
    database.engine(app).dispose()
    with caplog.at_level(logging.DEBUG, logger="web.errors"):
        assert_unavailable_page(client.get("/healthz"))
        assert_unavailable_page(client.get("/healthz"))
        folder.mkdir()
        upgrade(make_engine(url))
        assert client.get("/healthz").status_code == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "Database unavailable" in errors[0].getMessage()
    assert any("Database available again" in r.getMessage() for r in caplog.records)
    database.engine(app).dispose()


@pytest.fixture
def database_drops_on_saving_a_version(app):
    """The connection is lost in the middle of an action, after its first rows were written."""

    def drop(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PROCESS_VERSIONS"):
            raise OperationalError(statement, None, Exception("server closed the connection"))

    engine = database.engine(app)
    event.listen(engine, "before_cursor_execute", drop)
    yield
    event.remove(engine, "before_cursor_execute", drop)


def test_a_connection_lost_mid_action_saves_none_of_its_rows(
    client, session, make, database_drops_on_saving_a_version
):
    org = make.org()
    make.login(client, make.user(org, "owner"))

    response = client.post(
        "/processes/new", data={"name": "Open an account", "perspective": "customer_journey"}
    )

    assert_unavailable_page(response)
    assert session.scalar(select(func.count()).select_from(t.Process)) == 0
    assert session.scalar(select(func.count()).select_from(t.ProcessVersion)) == 0
