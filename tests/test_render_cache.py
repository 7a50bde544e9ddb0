"""With ``REDIS_URL`` set, rendered diagrams live in Redis and are shared by every worker, so a
diagram is laid out once for the whole site; when Redis is down, renders are cached on each
server's disk instead and the log says so once."""

from __future__ import annotations

import logging
import random
import uuid
from pathlib import Path

import pytest

from web import create_app, database, rendering
from web.render_cache import DEGRADED_MESSAGE, RECOVERED_MESSAGE, RedisCache
from workflow.generate import random_process
from workflow.render import DirectoryCache, process_map

REDIS_URL = "redis://127.0.0.1:6379/0"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_url():
    from redis import Redis
    from redis.exceptions import RedisError

    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except RedisError as exc:
        pytest.skip(f"Redis does not answer at {REDIS_URL} ({exc}); CI runs this test with Redis")
    yield REDIS_URL
    connection.close()


@pytest.fixture
def prefix(redis_url):
    """A key prefix of this test's own, its keys removed afterwards."""
    from redis import Redis

    prefix = f"leanlane-test:{uuid.uuid4().hex}:"
    yield prefix
    connection = Redis.from_url(redis_url)
    keys = list(connection.scan_iter(f"{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()


@pytest.fixture
def make_app(database_url, tmp_path):
    """An app as one gunicorn worker sees it, each with a render folder of its own."""
    apps = []

    def build(name: str, **config):
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": database_url,
                "SECRET_KEY": "test-secret",
                "RATELIMIT_ENABLED": False,
                "RENDER_CACHE_DIR": str(tmp_path / name),
                **config,
            }
        )
        apps.append(app)
        return app

    yield build
    for app in apps:
        database.engine(app).dispose()


def count_layouts(app, monkeypatch) -> list[str]:
    """Every layout the app's renderer really runs (cache hits are not layouts)."""
    drawn: list[str] = []
    renderer = rendering.renderer(app)
    lay_out = renderer._lay_out

    def counted(dot, engine, fmt, timeout):
        drawn.append(engine)
        return lay_out(dot, engine, fmt, timeout)

    monkeypatch.setattr(renderer, "_lay_out", counted)
    return drawn


def diagram(seed: int = 1):
    return process_map(random_process(random.Random(seed), 30))


def test_two_workers_sharing_redis_lay_out_a_diagram_once(make_app, redis_url, prefix, monkeypatch):
    config = {"REDIS_URL": redis_url, "RENDER_CACHE_KEY_PREFIX": prefix}
    first, second = make_app("first", **config), make_app("second", **config)
    first_layouts = count_layouts(first, monkeypatch)
    second_layouts = count_layouts(second, monkeypatch)

    drawn = rendering.renderer(first).render(diagram(), "svg")
    shared = rendering.renderer(second).render(diagram(), "svg")

    assert len(first_layouts) == 1
    assert second_layouts == []
    assert shared.cached and shared.data == drawn.data
    assert not any(Path(second.config["RENDER_CACHE_DIR"]).iterdir())


def test_renders_in_redis_expire_after_their_time_to_live(make_app, redis_url, prefix):
    from redis import Redis

    app = make_app("one", REDIS_URL=redis_url, RENDER_CACHE_KEY_PREFIX=prefix, RENDER_CACHE_TTL=90)

    rendering.renderer(app).render(diagram(), "svg")

    connection = Redis.from_url(redis_url)
    keys = list(connection.scan_iter(f"{prefix}*"))
    assert len(keys) == 1
    assert 0 < connection.ttl(keys[0]) <= 90
    connection.close()


def test_a_render_above_the_size_cap_is_kept_on_disk_not_in_redis(redis_url, prefix, tmp_path):
    cache = RedisCache(redis_url, DirectoryCache(tmp_path), prefix=prefix, max_entry_bytes=10)

    cache.set("small", b"0123456789")
    cache.set("large", b"0123456789A")

    assert cache.client.get(prefix + "small") == b"0123456789"
    assert cache.client.get(prefix + "large") is None
    assert (tmp_path / "large").read_bytes() == b"0123456789A"
    assert cache.get("large") == b"0123456789A"
    cache.client.close()


def test_without_redis_url_renders_are_cached_on_disk(make_app):
    app = make_app("plain")

    assert isinstance(rendering.renderer(app).cache, DirectoryCache)


def test_with_redis_down_diagrams_are_still_drawn_and_cached_on_disk_and_the_log_says_so_once(
    make_app, monkeypatch, caplog
):
    app = make_app("down", REDIS_URL=UNREACHABLE_REDIS)
    layouts = count_layouts(app, monkeypatch)

    with caplog.at_level(logging.WARNING, logger="web.render_cache"):
        first = rendering.renderer(app).render(diagram(), "svg")
        again = rendering.renderer(app).render(diagram(), "svg")
        other = rendering.renderer(app).render(diagram(seed=2), "svg")

    assert b"<svg" in first.data
    assert again.cached and again.data == first.data
    assert not other.cached
    assert len(layouts) == 2
    assert any(Path(app.config["RENDER_CACHE_DIR"]).iterdir())
    warnings = [r.getMessage() for r in caplog.records if DEGRADED_MESSAGE in r.getMessage()]
    assert len(warnings) == 1


def test_after_redis_comes_back_renders_are_shared_again_and_the_log_says_so(
    redis_url, prefix, tmp_path, caplog
):
    from redis import Redis

    now = [0.0]
    cache = RedisCache(
        UNREACHABLE_REDIS, DirectoryCache(tmp_path), prefix=prefix, clock=lambda: now[0]
    )

    with caplog.at_level(logging.WARNING, logger="web.render_cache"):
        cache.set("during", b"kept on disk")
        cache.client = Redis.from_url(redis_url)
        cache.set("paused", b"still on disk while Redis is not asked")
        now[0] += cache.retry_after
        cache.set("after", b"in redis")

    assert (tmp_path / "during").read_bytes() == b"kept on disk"
    assert (tmp_path / "paused").is_file()
    assert cache.client.get(prefix + "after") == b"in redis"
    assert cache.get("during") == b"kept on disk"
    assert not cache.degraded
    messages = [r.getMessage() for r in caplog.records]
    assert sum(DEGRADED_MESSAGE in m for m in messages) == 1
    assert messages.count(RECOVERED_MESSAGE) == 1
    cache.client.close()
