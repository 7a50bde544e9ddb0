"""One database session per request, closed (and rolled back unless committed) at teardown."""

from __future__ import annotations

import os
import weakref

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from workflow.adapters.database import make_engine, make_session_factory

__all__ = ["db", "engine", "init_app", "session_factory"]

_KEY = "leanlane.db"


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[_KEY] = (engine, make_session_factory(engine))
    app.teardown_appcontext(_close)
    _forget_connections_after_fork(engine)


def _forget_connections_after_fork(engine: Engine) -> None:
    """A worker forked from a process that already holds the app (``gunicorn --preload``)
    must never use its parent's connections: two processes on one socket corrupt both."""
    held = weakref.ref(engine)

    def in_child() -> None:
        found = held()
        if found is not None:
            found.dispose(close=False)

    os.register_at_fork(after_in_child=in_child)


def engine(app: Flask | None = None) -> Engine:
    return (app or current_app).extensions[_KEY][0]


def session_factory(app: Flask | None = None) -> sessionmaker[Session]:
    return (app or current_app).extensions[_KEY][1]


def db() -> Session:
    """This request's session. Views call one service and commit; anything else rolls back."""
    if "db_session" not in g:
        g.db_session = session_factory()()
    return g.db_session


def _close(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()
