"""Lists that grow are shown a page at a time; every such list turns a requested page number
into one that exists the same way, and offers the same links to its neighbours."""

from __future__ import annotations

import math

__all__ = ["PageLinks", "window"]


def window(requested: int, total: int, per_page: int) -> tuple[int, int]:
    """(page to show, number of pages) for ``total`` items: a page before the first shows the
    first, one past the end shows the last, and an empty list still has one (empty) page."""
    pages = max(1, math.ceil(total / per_page))
    return min(max(1, requested), pages), pages


class PageLinks:
    """Previous and next links of a page that knows its ``page`` and ``pages``."""

    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages
