"""Flask extensions, created unbound and wired to an app in :func:`web.create_app`."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

__all__ = ["csrf", "limiter"]

csrf = CSRFProtect()
#: Limits are declared on the routes that need them (login, public feedback); with
#: ``RATELIMIT_STORAGE_URI`` pointing at Redis they hold across all server processes.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
