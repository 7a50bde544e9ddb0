"""Filters and globals every template may use."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, current_app, render_template, url_for
from markupsafe import Markup

from workflow.report import format_minutes
from workflow.services.accounts import ROLE_WORDS

__all__ = ["NAV", "init_app", "rendered_part"]

#: The main navigation: (endpoint, label, roles allowed; empty for every logged-in user).
NAV = (
    ("home.processes", "Processes", ()),
    ("staff.my_flags", "My flags", ()),
    ("review.index", "Review", ("reviewer", "owner")),
    ("insights.organisation", "Signals", ("reviewer", "owner")),
    ("insights.pulse", "Pulse", ("staff", "owner", "reviewer")),
    ("admin.users", "Users", ("admin",)),
    ("auth.account", "Account", ()),
)


def init_app(app: Flask) -> None:
    app.add_template_filter(format_minutes, "minutes")
    app.add_template_filter(_date, "date")
    app.add_template_filter(_when, "when")
    app.add_template_global(endpoint_url)
    app.add_template_global(nav_items)
    app.add_template_global(ROLE_WORDS, "role_words")


def endpoint_url(endpoint: str, **values: Any) -> str | None:
    """``url_for`` when the endpoint exists, else None (a feature may be switched off)."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def nav_items(user) -> list[tuple[str, str, str]]:
    if user is None:
        return []
    items = []
    for endpoint, label, roles in NAV:
        if roles and user.role != "admin" and user.role not in roles:
            continue
        url = endpoint_url(endpoint)
        if url:
            items.append((endpoint, label, url))
    return items


def _date(value: dt.datetime | dt.date | None) -> str:
    return value.strftime("%d %b %Y") if value else ""


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%d %b %Y %H:%M") + " UTC" if value else ""


def rendered_part(template: str, **context: Any) -> Markup:
    """A part of a page rendered on its own, to be kept and placed in a page later.

    The output of an autoescaped template is already escaped; it is marked as markup so the
    page does not escape it a second time.
    """
    return Markup(render_template(template, **context))  # nosec B704
