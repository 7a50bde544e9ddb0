"""Reading an event log from a CSV file.

The header is read first (separator sniffed among ``,`` ``;`` tab and ``|``), the columns mapped
(:mod:`eventlog_columns`), and then only those columns are read by polars' streaming CSV reader,
which parses the timestamps in native code on every core. Everything a hostile or broken file
can do ends in an :class:`EventLogError` naming the file and, where there is one, the row and
column: a file that is not UTF-8, has no header, has rows with too many fields, empty case ids
or activities, or values that are not timestamps.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from workflow.interchange.eventlog import (
    ACTIVITY,
    CASE,
    START,
    TIME,
    EventLog,
    EventLogError,
)
from workflow.interchange.eventlog_columns import map_columns
from workflow.interchange.eventlog_time import (
    inference_is_safe,
    parse_timestamps,
    timestamp_expression,
)

__all__ = ["MAX_CSV_BYTES", "read_csv_log"]

#: Larger files are refused: about 35 million events, several GiB once in memory.
MAX_CSV_BYTES = 2 * 1024**3
HEAD_BYTES = 256 * 1024
SEPARATORS = (",", ";", "\t", "|")
MAX_COLUMNS = 10_000


def _header(path: Path, source: str) -> tuple[list[str], str, list[str]]:
    """The header, the separator and the first data record (as far as the head shows it)."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if not head.strip():
        raise EventLogError(f"{source}: the file is empty")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4096]:
        raise EventLogError(f"{source}: not a text file in UTF-8 (save the CSV as UTF-8)")
    end = head.find(b"\n")
    line = head if end == -1 else head[:end]
    try:
        text = line.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise EventLogError(
            f"{source}: line 1 is not UTF-8 text (byte {exc.start + 1}); save the CSV as UTF-8"
        ) from None
    best: tuple[list[str], str] = ([text], ",")
    rest = head[end + 1 :].decode("utf-8", "replace") if end != -1 else ""
    for separator in SEPARATORS:
        try:
            fields = next(csv.reader(io.StringIO(text), delimiter=separator), [])
        except csv.Error:
            continue
        if len(fields) > len(best[0]):
            best = (fields, separator)
    header, separator = best
    if len(header) < 3:
        raise EventLogError(
            f"{source}: the first line should be a header with at least a case, an activity and "
            f"a timestamp column; found {len(header)} column(s)"
        )
    if len(header) > MAX_COLUMNS:
        raise EventLogError(f"{source}: {len(header)} columns; at most {MAX_COLUMNS} are read")
    try:
        first = next(csv.reader(io.StringIO(rest.split("\n", 1)[0]), delimiter=separator), [])
    except csv.Error:
        first = []
    return [h.strip() for h in header], separator, first


def _polars_message(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first if len(first) <= 200 else first[:197] + "..."


def read_csv_log(
    path: str | os.PathLike[str],
    columns: Mapping[str, str | None] | None = None,
    *,
    timestamp_format: str | None = None,
    max_bytes: int = MAX_CSV_BYTES,
) -> EventLog:
    """Read a CSV event log; ``columns`` maps purposes (``case``, ``activity``, ``time``,
    ``start``, ``resource``, ``role``) to header names, and unnamed ones are found by name."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise EventLogError(f"{source}: cannot read: {exc.strerror}") from None
    if not path.is_file():
        raise EventLogError(f"{source}: not a file")
    if size > max_bytes:
        raise EventLogError(
            f"{source}: {size / 1024**2:,.0f} MiB; logs over {max_bytes / 1024**2:,.0f} MiB "
            "are refused"
        )
    header, separator, first_row = _header(path, source)
    found = map_columns(header, dict(columns or {}), source)
    names = [f"c{i}" for i in range(len(header))]
    times = {TIME} | ({START} if START in found else set())
    selected = [
        (
            timestamp_expression(pl.col(names[index]), timestamp_format)
            if purpose in times
            else pl.col(names[index])
        ).alias(purpose)
        for purpose, index in found.items()
    ]
    query = pl.scan_csv(
        path,
        separator=separator,
        has_header=True,
        new_columns=names,
        infer_schema=False,
        encoding="utf8",
        quote_char='"',
        raise_if_empty=False,
    ).select(selected)
    try:
        frame = query.collect(engine="streaming")
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise EventLogError(f"{source}: cannot read the CSV: {_polars_message(exc)}") from None
    except BaseException as exc:
        # polars reports a panic of its native code as a BaseException subclass.
        if type(exc).__name__ != "PanicException":
            raise
        raise EventLogError(f"{source}: cannot read the CSV: {_polars_message(exc)}") from None
    if frame.height == 0:
        raise EventLogError(f"{source}: the header is there but there are no events")
    for purpose in (CASE, ACTIVITY):
        nulls = frame[purpose].is_null()
        if nulls.any():
            row = int(nulls.arg_true()[0]) + 1
            raise EventLogError(
                f"{source}: row {row}: column {header[found[purpose]]!r} ({purpose}) is empty"
            )
    for purpose in sorted(times):
        index = found[purpose]
        sample = first_row[index] if index < len(first_row) else None
        if frame[purpose].null_count() or (
            timestamp_format is None and not inference_is_safe(sample)
        ):
            # Unread values (or empty ones): read the column's text again to rescue or report.
            raw = _raw_column(
                query_path=path,
                separator=separator,
                names=names,
                name=names[found[purpose]],
                source=source,
            )
            fixed = parse_timestamps(
                raw,
                frame[purpose] if inference_is_safe(sample) else None,
                column=header[found[purpose]],
                source=source,
                fmt=timestamp_format,
                allow_empty=purpose == START,
            )
            frame = frame.with_columns(fixed.alias(purpose))
    used = {purpose: header[index] for purpose, index in found.items()}
    return EventLog.from_events(frame, source, used)


def _raw_column(
    *, query_path: Path, separator: str, names: list[str], name: str, source: str
) -> pl.Series:
    """The text of one column, read again to report or rescue values the fast path left."""
    try:
        return (
            pl.scan_csv(
                query_path,
                separator=separator,
                has_header=True,
                new_columns=names,
                infer_schema=False,
                quote_char='"',
            )
            .select(pl.col(name))
            .collect(engine="streaming")
            .to_series()
        )
    except pl.exceptions.PolarsError as exc:
        raise EventLogError(f"{source}: cannot read the CSV: {_polars_message(exc)}") from None
