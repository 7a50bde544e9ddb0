"""The organisation analyses the review pages and the API share, and small cached page parts.

One least-recently-used cache per app for each: keys name everything the value depends on
(process versions and signals revisions), so an entry is never stale, only unused.
"""

from __future__ import annotations

from flask import current_app

from workflow.services.analysis_cache import AnalysisCache
from workflow.services.review_analysis import SIMULATION_RUNS

__all__ = ["analyses", "page_parts", "simulation_runs"]

ANALYSES_KEY = "leanlane.analyses"
PAGE_PARTS_KEY = "leanlane.page_parts"


def analyses() -> AnalysisCache:
    return current_app.extensions.setdefault(ANALYSES_KEY, AnalysisCache())


def page_parts() -> AnalysisCache:
    """Rendered parts of pages, e.g. a process page's content by version, signals and role."""
    return current_app.extensions.setdefault(PAGE_PARTS_KEY, AnalysisCache(256))


def simulation_runs() -> int:
    """Simulated cases per proposal measurement (``REVIEW_SIMULATION_RUNS``)."""
    return int(current_app.config.get("REVIEW_SIMULATION_RUNS", SIMULATION_RUNS))
