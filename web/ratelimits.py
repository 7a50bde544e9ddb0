"""Where rate limits are counted: in Redis when ``REDIS_URL`` is set, so a limit holds across
all gunicorn workers, else in each process's memory.

When Redis stops answering, Flask-Limiter counts in memory until it is back (limits then hold
per worker only); the app says so in its log instead of failing requests.
"""

from __future__ import annotations

import logging

from flask import Flask

__all__ = ["DEGRADED_MESSAGE", "configure", "init_app"]

log = logging.getLogger(__name__)

DEGRADED_MESSAGE = (
    "Redis down: degraded mode; rate limits are counted per worker until Redis answers again"
)
RECOVERED_MESSAGE = "Redis answers again: rate limits are shared by all workers"
#: A Redis that does not answer must not hold up a request for long.
REDIS_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}


def configure(app: Flask) -> None:
    """Count in Redis when ``REDIS_URL`` is set, unless ``RATELIMIT_STORAGE_URI`` is given."""
    redis_url = app.config.get("REDIS_URL") or ""
    if app.config.get("RATELIMIT_STORAGE_URI"):
        storage = app.config["RATELIMIT_STORAGE_URI"]
    else:
        storage = redis_url or "memory://"
        app.config["RATELIMIT_STORAGE_URI"] = storage
    if storage.startswith(("redis://", "rediss://", "redis+")):
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", dict(REDIS_OPTIONS))
        app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)


class _StorageStateLog(logging.Handler):
    """Turns Flask-Limiter's notes about its storage into the app's own warnings."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "falling back to in-memory storage" in message:
            log.warning(DEGRADED_MESSAGE)
        elif "storage recovered" in message:
            log.warning(RECOVERED_MESSAGE)


_HANDLER = _StorageStateLog()


def init_app(app: Flask) -> None:
    from web.extensions import limiter

    configure(app)
    limiter.init_app(app)
    if _HANDLER not in limiter.logger.handlers:
        limiter.logger.addHandler(_HANDLER)
