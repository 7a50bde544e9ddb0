"""An event log as Leanlane reads it: one row per event, each case's events in time order.

Readers (:mod:`eventlog_csv`, :mod:`eventlog_xes`) build an :class:`EventLog`; discovery only
ever sees this shape, so both file formats give the same numbers for the same events. The frame
is a polars DataFrame because the logs worth mining have millions of events, and a columnar
frame sorts and groups them in a fraction of the time Python objects would take.

Events are ordered like pm4py orders them: by case, then by timestamp, and events of one case
with the same timestamp keep the order they had in the file (a stable sort).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = [
    "ACTIVITY",
    "CASE",
    "OPTIONAL_COLUMNS",
    "RESOURCE",
    "ROLE",
    "START",
    "TIME",
    "EventLog",
    "EventLogError",
]

CASE = "case"
ACTIVITY = "activity"
TIME = "time"
START = "start"
RESOURCE = "resource"
ROLE = "role"
OPTIONAL_COLUMNS = (START, RESOURCE, ROLE)
TIME_TYPE = pl.Datetime("us", "UTC")


class EventLogError(ValueError):
    """A log that cannot be read; the message names the file, and the row or column at fault."""


@dataclass(frozen=True)
class EventLog:
    """Events sorted by case and time; ``source`` names the file for messages and models.

    ``frame`` has the columns ``case`` (categorical), ``activity`` (categorical) and ``time``
    (UTC datetimes, microseconds), and where the file had them ``start``, ``resource`` and
    ``role``. ``columns`` records which column or attribute of the file each one came from.
    """

    frame: pl.DataFrame
    source: str
    columns: dict[str, str]

    @classmethod
    def from_events(cls, frame: pl.DataFrame, source: str, columns: dict[str, str]) -> EventLog:
        """Order unordered events (case, then time, stable) into a log."""
        frame = frame.with_columns(
            pl.col(CASE).cast(pl.Categorical), pl.col(ACTIVITY).cast(pl.Categorical)
        )
        ordered = frame.sort(
            [pl.col(CASE).to_physical(), pl.col(TIME)], maintain_order=True, multithreaded=True
        )
        return cls(ordered, source, dict(columns))

    @property
    def has_start(self) -> bool:
        return START in self.frame.columns

    @property
    def lane_column(self) -> str | None:
        """Where lanes come from: the role when the log has one, else the resource."""
        for column in (ROLE, RESOURCE):
            if column in self.frame.columns:
                return column
        return None

    def __len__(self) -> int:
        return self.frame.height
