"""An app loaded before gunicorn forks its workers (``--preload``): no worker ever uses a
database connection its parent opened."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from web import database


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_worker_starts_without_its_parents_connections(app):
    engine = database.engine(app)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    parent_pool = engine.pool
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            fresh = engine.pool is not parent_pool and engine.pool.checkedin() == 0
            with engine.connect() as connection:
                works = connection.execute(text("SELECT 1")).scalar() == 1
            os.write(write, b"ok" if fresh and works else b"reused")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 16)
    os.close(read)
    os.waitpid(child, 0)
    assert answer == b"ok"
    assert engine.pool is parent_pool
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
