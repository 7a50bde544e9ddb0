"""Pages of a list: ``limit`` and ``offset`` in, the items with their total and links out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import request, url_for

__all__ = ["page"]


def _link(limit: int, offset: int) -> str:
    args = {k: v for k, v in request.args.items() if k not in ("limit", "offset")}
    return url_for(
        request.endpoint, **(request.view_args or {}), **args, limit=limit, offset=offset
    )


def page(items: Sequence[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    """The page envelope: items, total, limit, offset and links to self, next and previous."""
    has_next = offset + len(items) < total
    return {
        "items": list(items),
        "total": total,
        "limit": limit,
        "offset": offset,
        "links": {
            "self": _link(limit, offset),
            "next": _link(limit, offset + limit) if has_next else None,
            "prev": _link(limit, max(0, offset - limit)) if offset > 0 else None,
        },
    }
