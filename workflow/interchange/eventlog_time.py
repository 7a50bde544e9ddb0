"""Timestamps of event logs, read like pm4py reads them: timezone-aware, kept in UTC.

A timestamp with an offset (``2011-10-11 13:45:40.276+02:00``, ``...Z``) is converted to UTC; one
without an offset is taken to be UTC already, as pandas does with ``utc=True``. The fast path
lets polars recognise the format from the first value and parse the whole column in native code;
values in another format (a log that mixes ``+01:00`` with naive times, say) fall back to a few
explicit formats and then to :func:`datetime.fromisoformat`. A value nothing can read is
reported with its row, and day-first dates that could as well be month-first are refused rather
than guessed.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from workflow.interchange.eventlog import TIME_TYPE, EventLogError

__all__ = ["FALLBACK_FORMATS", "inference_is_safe", "parse_timestamps", "timestamp_expression"]

#: Tried, in order, on values the inferred format could not read. Day-first and month-first
#: forms both appear; a column both read completely is ambiguous and refused.
FALLBACK_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)
DAY_FIRST = (
    "%d/%m/%Y %H:%M:%S%.f",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S%.f",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%d.%m.%Y %H:%M:%S%.f",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)
MONTH_FIRST = (
    "%m/%d/%Y %H:%M:%S%.f",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%m-%d-%Y %H:%M:%S%.f",
    "%m-%d-%Y %H:%M",
    "%m-%d-%Y",
)
EXAMPLE = "2024-03-01 09:15:00+01:00"
#: Dates written with the day and month first in some order: polars would pick one reading
#: from the first value, so such columns go through the explicit formats instead.
NUMERIC_DATE = re.compile(r"^\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}")


def inference_is_safe(sample: str | None) -> bool:
    """Whether polars may guess the format from this first value (ISO-like: year first)."""
    return sample is None or not NUMERIC_DATE.match(sample)


def timestamp_expression(expr: pl.Expr, fmt: str | None = None) -> pl.Expr:
    """Parse text to UTC datetimes; unreadable values become null (see :func:`parse_timestamps`).

    ``cache=False``: timestamps are nearly all distinct, so polars' cache of parsed strings only
    costs time.
    """
    return (
        expr.cast(pl.String)
        .str.strip_chars()
        .str.to_datetime(fmt, time_unit="us", time_zone="UTC", strict=False, cache=False)
    )


def _python_parse(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _fill(raw: pl.Series, parsed: pl.Series, formats: tuple[str, ...]) -> pl.Series:
    for fmt in formats:
        missing = parsed.is_null() & raw.is_not_null()
        if not missing.any():
            break
        parsed = parsed.zip_with(~missing, timestamp_expression_series(raw, fmt))
    return parsed


def timestamp_expression_series(raw: pl.Series, fmt: str | None) -> pl.Series:
    return pl.select(timestamp_expression(pl.lit(raw), fmt)).to_series()


def _reads_all(raw: pl.Series, formats: tuple[str, ...]) -> bool:
    parsed = _fill(raw, pl.Series(raw.name, [None] * len(raw), dtype=TIME_TYPE), formats)
    return parsed.null_count() == raw.null_count()


def parse_timestamps(
    raw: pl.Series,
    parsed: pl.Series | None,
    *,
    column: str,
    source: str,
    fmt: str | None = None,
    allow_empty: bool = False,
) -> pl.Series:
    """``raw`` as UTC datetimes, completing a fast-path ``parsed`` where it left values unread.

    Raises :class:`EventLogError` naming the first row (1 = the first event) whose value is not
    a date and time, or saying that day-first and month-first dates cannot be told apart.
    Empty values are an error too, unless ``allow_empty`` (a start time an event may lack).
    """
    raw = raw.cast(pl.String).str.strip_chars()
    first = raw.drop_nulls().head(1).to_list()
    if fmt is None and not inference_is_safe(first[0] if first else None):
        parsed = pl.Series(raw.name, [None] * len(raw), dtype=TIME_TYPE)
    elif parsed is None:
        parsed = timestamp_expression_series(raw, fmt)
    missing = parsed.is_null() & raw.is_not_null() & (raw != "")
    if missing.any() and fmt is None:
        parsed = _fill(raw, parsed, FALLBACK_FORMATS)
        missing = parsed.is_null() & raw.is_not_null() & (raw != "")
        if missing.any():
            rest = raw.filter(missing)
            day, month = _reads_all(rest, DAY_FIRST), _reads_all(rest, MONTH_FIRST)
            if day and month:
                raise EventLogError(
                    f"{source}: column {column!r}: dates such as {rest[0]!r} could be day/month "
                    "or month/day; give the format with --timestamp-format, e.g. "
                    "'%d/%m/%Y %H:%M'"
                )
            parsed = _fill(raw, parsed, DAY_FIRST if day else MONTH_FIRST)
            missing = parsed.is_null() & raw.is_not_null() & (raw != "")
    if missing.any():
        values = raw.filter(missing)
        if fmt is None and len(values) <= 10_000:
            rescued = pl.Series([_python_parse(v) for v in values.to_list()], dtype=TIME_TYPE)
            parsed = parsed.scatter(missing.arg_true(), rescued)
            missing = parsed.is_null() & raw.is_not_null() & (raw != "")
    empty = (raw.is_null() | (raw == "")) & (not allow_empty)
    if empty.any() or missing.any():
        row = int((empty | missing).arg_true()[0])
        value = raw[row]
        if value is None or value == "":
            raise EventLogError(f"{source}: row {row + 1}: column {column!r} is empty")
        hint = f"the format {fmt!r}" if fmt else f"a date and time such as {EXAMPLE!r}"
        raise EventLogError(
            f"{source}: row {row + 1}: column {column!r}: {_shorten(value)!r} is not {hint}"
        )
    return parsed.alias(raw.name)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
