"""The app's diagram renderer and the link a step in a diagram opens.

Renders are cached in Redis when ``REDIS_URL`` is set, so all workers share them, else on disk
under the instance folder (``RENDER_CACHE_DIR``), which is also where they go while Redis is down.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, current_app

from web.render_cache import DEFAULT_TTL_SECONDS, RedisCache
from workflow.render import DirectoryCache, Renderer

__all__ = ["init_app", "renderer", "step_url"]

log = logging.getLogger(__name__)

_KEY = "leanlane.renderer"
STEP_URL = "/processes/{process}/steps/{step}"


def _cache(app: Flask) -> DirectoryCache | RedisCache:
    cache_dir = Path(app.config.get("RENDER_CACHE_DIR") or Path(app.instance_path) / "renders")
    directory = DirectoryCache(cache_dir)
    redis_url = app.config.get("REDIS_URL") or ""
    if not redis_url:
        return directory
    try:
        import redis  # noqa: F401
    except ImportError:
        log.warning("REDIS_URL is set but the redis package is missing: renders are cached on disk")
        return directory
    return RedisCache(
        redis_url,
        directory,
        prefix=app.config.get("RENDER_CACHE_KEY_PREFIX") or "leanlane:render:",
        ttl_seconds=int(app.config.get("RENDER_CACHE_TTL") or DEFAULT_TTL_SECONDS),
    )


def init_app(app: Flask) -> None:
    app.extensions[_KEY] = Renderer(
        cache=_cache(app),
        time_limit=float(app.config["RENDER_TIME_LIMIT"]),
        layout=app.config.get("RENDER_LAYOUT") or "grid",
    )


def renderer(app: Flask | None = None) -> Renderer:
    return (app or current_app).extensions[_KEY]


def step_url(process_row_id: int, step_id: str) -> str:
    """The step page of a process; relative, so diagrams never link off the site."""
    from urllib.parse import quote

    return STEP_URL.format(process=process_row_id, step=quote(step_id, safe=""))
