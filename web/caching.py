"""A small in-process cache of rendered page parts.

Keys must name everything the part depends on (for example a process's version number and
signals revision, both read from its row in the same request), so an entry is never stale:
a change makes a new key and old entries simply age out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from markupsafe import Markup

__all__ = ["FragmentCache"]


class FragmentCache:
    """Least-recently-used markup by key, safe to share between a worker's threads."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Markup | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Markup) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
