"""The organisation analyses the review pages and the API share, and small cached page parts.

One least-recently-used cache per app for each: keys name everything the value depends on
(process versions and signals revisions), so an entry is never stale, only unused. Review
pages may still read an analysis whose signals are a few seconds behind
(``REVIEW_ANALYSIS_MAX_AGE``), but never one older than the reader's own last change.
"""

from __future__ import annotations

import time

from flask import Flask, Response, current_app, request, session

from workflow.services.analysis_cache import AnalysisCache
from workflow.services.review_analysis import SIMULATION_RUNS, Freshness

__all__ = ["analyses", "init_app", "page_parts", "review_freshness", "simulation_runs"]

ANALYSES_KEY = "leanlane.analyses"
PAGE_PARTS_KEY = "leanlane.page_parts"
#: Session key: when the signed-in user last changed something (seconds since the epoch).
LAST_CHANGE = "changed"


def init_app(app: Flask) -> None:
    app.after_request(_remember_own_change)


def _remember_own_change(response: Response) -> Response:
    """Note when a signed-in user's form post went through, so the pages they open next
    measure their own change rather than show figures from before it."""
    if request.method == "POST" and response.status_code < 400 and session.get("uid"):
        session[LAST_CHANGE] = time.time()
    return response


def analyses() -> AnalysisCache:
    return current_app.extensions.setdefault(ANALYSES_KEY, AnalysisCache())


def page_parts() -> AnalysisCache:
    """Rendered parts of pages, e.g. a process page's content by version, signals and role."""
    return current_app.extensions.setdefault(PAGE_PARTS_KEY, AnalysisCache(256))


def simulation_runs() -> int:
    """Simulated cases per proposal measurement (``REVIEW_SIMULATION_RUNS``)."""
    return int(current_app.config.get("REVIEW_SIMULATION_RUNS", SIMULATION_RUNS))


def review_freshness() -> Freshness:
    """How far behind the signals the review pages' figures may be for this reader."""
    return Freshness(
        max_age=float(current_app.config["REVIEW_ANALYSIS_MAX_AGE"]),
        not_before=session.get(LAST_CHANGE),
    )
