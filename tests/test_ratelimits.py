"""Rate limits counted in Redis hold across server workers; without Redis, or while it is down,
each worker counts alone and the app says so in its log.

Each worker is its own Python process, as under gunicorn, so nothing is shared but Redis.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from web import create_app
from web.ratelimits import DEGRADED_MESSAGE

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
LIMIT = 4

WORKER = """
import json, logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(message)s")
from web import create_app
config, attempts = json.loads(sys.argv[1]), int(sys.argv[2])
client = create_app(config).test_client()
statuses = [
    client.post("/login", data={"email": "nobody@example.com", "password": "wrong"}).status_code
    for _ in range(attempts)
]
print(json.dumps(statuses))
"""


def run_worker(config: dict, attempts: int) -> tuple[list[int], str]:
    """One server worker answering ``attempts`` login attempts from the same client."""
    done = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(config), str(attempts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.fixture
def worker_config(database_url, tmp_path) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": f"leanlane-test-{uuid.uuid4().hex}",
        "LOGIN_RATE_LIMIT": f"{LIMIT} per minute",
        "RENDER_CACHE_DIR": str(tmp_path / "renders"),
    }


@pytest.fixture
def redis_url() -> str:
    from redis import Redis
    from redis.exceptions import RedisError

    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except RedisError as exc:
        pytest.skip(f"Redis does not answer at {REDIS_URL} ({exc}); CI runs this test with Redis")
    finally:
        connection.close()
    return REDIS_URL


def refused(statuses: list[int]) -> int:
    return statuses.count(429)


def test_two_workers_sharing_redis_reach_the_limit_together(worker_config, redis_url):
    config = {**worker_config, "REDIS_URL": redis_url}

    first, _ = run_worker(config, LIMIT)
    second, _ = run_worker(config, LIMIT)

    assert refused(first) == 0
    assert refused(second) == LIMIT


def test_without_redis_each_worker_counts_alone(worker_config):
    first, _ = run_worker(worker_config, LIMIT)
    second, _ = run_worker(worker_config, LIMIT)

    assert refused(first) == refused(second) == 0


def test_with_redis_down_limits_still_hold_per_worker_and_the_log_says_so(worker_config):
    config = {**worker_config, "REDIS_URL": UNREACHABLE_REDIS}

    statuses, log = run_worker(config, LIMIT + 2)

    assert refused(statuses[:LIMIT]) == 0
    assert statuses[LIMIT:] == [429, 429]
    assert DEGRADED_MESSAGE in log
    assert log.count(DEGRADED_MESSAGE) == 1


def test_redis_url_sets_where_limits_are_counted_unless_the_storage_is_given(tmp_path):
    base = {"SECRET_KEY": "test-secret", "DATABASE_URL": f"sqlite:///{tmp_path / 'db'}"}

    assert create_app(base).config["RATELIMIT_STORAGE_URI"] == "memory://"
    shared = create_app({**base, "REDIS_URL": REDIS_URL}).config
    assert shared["RATELIMIT_STORAGE_URI"] == REDIS_URL
    assert shared["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True
    assert shared["RATELIMIT_STORAGE_OPTIONS"]["socket_timeout"] > 0
    explicit = {**base, "REDIS_URL": REDIS_URL, "RATELIMIT_STORAGE_URI": "memory://"}
    assert create_app(explicit).config["RATELIMIT_STORAGE_URI"] == "memory://"
