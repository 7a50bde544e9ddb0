"""The app's diagram renderer (results cached on disk under the instance folder) and the link
a step in a diagram opens."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from workflow.render import DirectoryCache, Renderer

__all__ = ["init_app", "renderer", "step_url"]

_KEY = "leanlane.renderer"
STEP_URL = "/processes/{process}/steps/{step}"


def init_app(app: Flask) -> None:
    cache_dir = Path(app.config.get("RENDER_CACHE_DIR") or Path(app.instance_path) / "renders")
    app.extensions[_KEY] = Renderer(
        cache=DirectoryCache(cache_dir), time_limit=float(app.config["RENDER_TIME_LIMIT"])
    )


def renderer(app: Flask | None = None) -> Renderer:
    return (app or current_app).extensions[_KEY]


def step_url(process_row_id: int, step_id: str) -> str:
    """The step page of a process; relative, so diagrams never link off the site."""
    from urllib.parse import quote

    return STEP_URL.format(process=process_row_id, step=quote(step_id, safe=""))
