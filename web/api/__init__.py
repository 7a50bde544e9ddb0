"""The JSON API under ``/api/v1``, described by the OpenAPI document at
``/api/v1/openapi.json`` (docs/API.md).

Each module adds its routes to one blueprint: processes and their versions, steps and flows
(:mod:`~web.api.processes`), files in and out (:mod:`~web.api.interchange`), flags and public
feedback (:mod:`~web.api.signals`), metrics, scores and proposals (:mod:`~web.api.review`)
and diagrams (:mod:`~web.api.renders`). Callers authenticate with personal tokens
(:mod:`~web.api.auth`); errors share one JSON shape (:mod:`~web.api.blueprint`).
"""

from web.api import auth, interchange, openapi, processes, renders, review, signals
from web.api.blueprint import bp

__all__ = ["auth", "bp", "interchange", "openapi", "processes", "renders", "review", "signals"]
