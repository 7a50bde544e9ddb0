"""Analyses kept in memory while the organisation's processes and signals stay the same.

An analysis depends on every current version of the organisation (links and linked signals
make processes score each other), on every flag, vote and CES answer, on the links between
steps and on today's date (flags fade with age). :func:`org_state` reads those from cheap
columns — version numbers, ``signals_revision`` counters and the link rows' count and highest
id — so a dashboard view of an unchanged organisation reuses the analysis instead of measuring
every proposal again.

The state has two parts: the *structure* (versions, links, the date) and the *signals* (flags,
votes and answers, counted by ``signals_revision``). Customers can send feedback many times a
second, so pages that tolerate figures a few seconds old may reuse an analysis of the same
structure whose signals are slightly behind (see ``review_analysis.org_analysis``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.adapters import tables as t

__all__ = ["AnalysisCache", "OrgState", "org_state"]

V = TypeVar("V")


@dataclass(frozen=True)
class OrgState:
    """What an analysis of an organisation reads, as cheap comparable values."""

    #: Organisation, its processes' current versions, the step links and the date.
    structure: tuple
    #: Each process's ``signals_revision``: flags, votes and answers.
    signals: tuple

    @property
    def key(self) -> tuple:
        return (self.structure, self.signals)


def org_state(session: Session, org: t.Organisation, as_of: dt.date | None = None) -> OrgState:
    """A state that changes whenever anything an analysis of ``org`` reads has changed."""
    in_org = t.StepLink.org_id == org.id
    link_count = select(func.count(t.StepLink.id)).where(in_org).scalar_subquery()
    last_link = select(func.max(t.StepLink.id)).where(in_org).scalar_subquery()
    # One query: every dashboard view reads this state, and the link figures ride along with
    # each process row (links join processes, so an organisation without any has none).
    rows = session.execute(
        select(
            t.Process.id,
            t.Process.current_version,
            t.Process.signals_revision,
            t.Process.updated_at,
            link_count,
            last_link,
        )
        .where(t.Process.org_id == org.id)
        .order_by(t.Process.id)
    ).all()
    links = (rows[0][4], rows[0][5]) if rows else (0, None)
    day = (as_of or dt.date.today()).isoformat()
    return OrgState(
        structure=(
            org.id,
            org.created_at,
            tuple((row_id, version, updated) for row_id, version, _, updated, *_ in rows),
            links,
            day,
        ),
        signals=tuple((row_id, revision) for row_id, _, revision, *_ in rows),
    )


class AnalysisCache(Generic[V]):
    """A small thread-safe least-recently-used map, from organisation state to analysis (or
    from any key that names everything its value depends on, such as a rendered page part).

    Two requests asking for the same missing key may both compute it; the second result
    simply replaces the first (both are the same analysis), which is cheaper than making one
    request wait on another's lock.
    """

    def __init__(self, size: int = 32) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def peek(self, key: Hashable) -> V | None:
        """The cached value, or None; never computes."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value for ``key``, computing and keeping it when missing."""
        found = self.peek(key)
        if found is not None:
            return found
        value = compute()
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
