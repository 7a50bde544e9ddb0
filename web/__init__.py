"""The Leanlane web app: a Flask application factory over the ``workflow`` engine.

``create_app`` only wires things together: it never touches the database. ``leanlane run``
creates or upgrades the schema and loads the demo organisation before serving.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["BLUEPRINTS", "create_app"]

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "process_models"
#: Feature packages, each with its blueprint ``bp``, views, forms and templates.
BLUEPRINTS = (
    "web.auth",
    "web.home",
    "web.owners",
    "web.staff",
    "web.public",
    "web.review",
    "web.insights",
    "web.admin",
    "web.imports",
    "web.api",
)


def _secret_key(instance: Path) -> str:
    """A key kept in the instance folder, made on first use, so sessions survive restarts."""
    path = instance / "secret_key"
    if path.is_file():
        return path.read_text(encoding="ascii").strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


def _trust_proxies(app: Flask) -> None:
    """Behind ``PROXY_FIX`` reverse proxies, take the client's address, scheme and host from
    their ``X-Forwarded-*`` headers, so rate limits count real clients and links use https.

    Only that many proxies are trusted: a client cannot forge its address past them.
    """
    trusted = int(app.config.get("PROXY_FIX") or 0)
    if trusted < 0:
        raise ValueError("PROXY_FIX is the number of trusted reverse proxies: 0 or more")
    if trusted:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``LEANLANE_*`` environment variables, then test overrides."""
    from flask import Flask

    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    app.config.from_mapping(
        MODELS_DIR=str(DEFAULT_MODELS_DIR),
        DATABASE_URL=os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'leanlane.sqlite3'}",
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=12 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,
        SESSION_COOKIE_NAME="leanlane_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,
        REDIS_URL=os.environ.get("REDIS_URL", ""),
        RATELIMIT_HEADERS_ENABLED=True,
        LOGIN_RATE_LIMIT="10 per minute;50 per hour",
        LOGIN_ACCOUNT_RATE_LIMIT="20 per hour;100 per day",
        FEEDBACK_RATE_LIMIT="5 per minute;30 per day",
        RENDER_TIME_LIMIT=20,
        # Seconds review pages may show figures measured before the latest signals arrived.
        REVIEW_ANALYSIS_MAX_AGE=30,
        RENDER_LAYOUT="grid",
        PROXY_FIX=0,
        SMTP_HOST="",
        SMTP_PORT=587,
        SMTP_USERNAME="",
        # No password until the operator sets one.
        SMTP_PASSWORD="",  # nosec B106
        SMTP_STARTTLS=True,
        MAIL_FROM="leanlane@localhost",
    )
    app.config.from_prefixed_env("LEANLANE")
    if test_config is not None:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)

    _trust_proxies(app)

    from web import analyses, database, errors, ratelimits, rendering, security, templating
    from web.extensions import csrf

    app.url_map.converters["int"] = errors.DatabaseInteger
    analyses.init_app(app)
    database.init_app(app)
    rendering.init_app(app)
    csrf.init_app(app)
    ratelimits.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(name).bp)
    return app
