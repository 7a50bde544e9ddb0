"""The Leanlane web app: a Flask application factory over the ``workflow`` engine."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

__all__ = ["create_app"]

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "process_models"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``LEANLANE_*`` environment variables, then test overrides.

    Nothing is read or computed here; pages load models on request.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        MODELS_DIR=str(DEFAULT_MODELS_DIR),
        MAX_CONTENT_LENGTH=10 * 1024 * 1024,
    )
    app.config.from_prefixed_env("LEANLANE")
    if test_config is not None:
        app.config.from_mapping(test_config)

    from web import library

    app.register_blueprint(library.bp)
    return app
