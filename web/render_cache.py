"""Rendered diagrams kept in Redis, so every gunicorn worker (and every server) lays a diagram out
once: what one worker drew, the others read.

When Redis stops answering, renders are kept in the directory cache instead, the log says so
once, and Redis is tried again after a short pause; requests never fail because of the cache.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from workflow.render import DirectoryCache

__all__ = ["DEGRADED_MESSAGE", "RECOVERED_MESSAGE", "RedisCache"]

log = logging.getLogger(__name__)

DEGRADED_MESSAGE = (
    "Redis down: degraded mode; rendered diagrams are cached on this server's disk "
    "until Redis answers again"
)
RECOVERED_MESSAGE = "Redis answers again: rendered diagrams are shared by all workers"
#: A week: an unchanged diagram is drawn again at most once a week per site.
DEFAULT_TTL_SECONDS = 7 * 24 * 3600
#: Larger renders (huge PNGs) stay out of Redis and go to the directory cache.
DEFAULT_MAX_ENTRY_BYTES = 8 * 1024**2
#: How long a worker keeps to the directory cache before asking Redis again.
RETRY_AFTER_SECONDS = 30.0
#: A Redis that does not answer must not hold up a request for long.
REDIS_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}


class RedisCache:
    """The :class:`workflow.render.engine.Cache` interface over Redis, with ``fallback`` (a
    directory cache) while Redis is down and for entries above ``max_entry_bytes``."""

    def __init__(
        self,
        url: str,
        fallback: DirectoryCache,
        *,
        prefix: str = "leanlane:render:",
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        retry_after: float = RETRY_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from redis import Redis

        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self.client = Redis.from_url(url, **REDIS_OPTIONS)
        self.fallback = fallback
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.max_entry_bytes = max_entry_bytes
        self.retry_after = retry_after
        self._clock = clock
        self._down_since: float | None = None
        self._lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        return self._down_since is not None

    def _usable(self) -> bool:
        with self._lock:
            down = self._down_since
        return down is None or self._clock() - down >= self.retry_after

    def _went_down(self, error: Exception) -> None:
        with self._lock:
            first = self._down_since is None
            self._down_since = self._clock()
        if first:
            log.warning("%s (%s)", DEGRADED_MESSAGE, error)

    def _answered(self) -> None:
        with self._lock:
            was_down = self._down_since is not None
            self._down_since = None
        if was_down:
            log.warning(RECOVERED_MESSAGE)

    def _call(self, command: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        from redis.exceptions import RedisError

        if not self._usable():
            return False, None
        try:
            value = command(*args, **kwargs)
        except RedisError as exc:
            self._went_down(exc)
            return False, None
        self._answered()
        return True, value

    def get(self, key: str) -> bytes | None:
        answered, value = self._call(self.client.get, self.prefix + key)
        if answered and value is not None:
            return bytes(value)
        return self.fallback.get(key)

    def set(self, key: str, value: bytes) -> None:
        if len(value) > self.max_entry_bytes:
            self.fallback.set(key, value)
            return
        answered, _ = self._call(self.client.set, self.prefix + key, value, ex=self.ttl_seconds)
        if not answered:
            self.fallback.set(key, value)
