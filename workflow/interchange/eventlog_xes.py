"""Reading an event log from an XES file (IEEE 1849), plain or gzip-compressed.

The file is streamed through expat in chunks: the attributes of the event being read are all
that is held besides the columns collected so far, so memory grows with the events, not with the
size of the XML. An XES file never needs a document type, so one is refused outright, with any
entity declaration or external reference (no entity is ever expanded beyond XML's five
predefined ones); nesting deeper than :data:`MAX_DEPTH` is refused, and so is a file, or the
decompressed content of a ``.gz``, larger than its limit, which stops a gzip bomb after at most
that many bytes.

As pm4py does, each trace's ``concept:name`` is its case id (traces sharing a name form one
case), the event's ``concept:name`` is the activity and ``time:timestamp`` the time;
``org:resource`` and ``org:role`` give lanes. Lifecycle transitions are not paired: every event
counts, as in pm4py's directly-follows graph.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from xml.parsers import expat

import polars as pl

from workflow.interchange.eventlog import (
    ACTIVITY,
    CASE,
    RESOURCE,
    ROLE,
    START,
    TIME,
    EventLog,
    EventLogError,
)
from workflow.interchange.eventlog_time import parse_timestamps, timestamp_expression

__all__ = ["MAX_DEPTH", "MAX_XES_BYTES", "XES_KEYS", "read_xes_log"]

#: Largest XML read, after decompression.
MAX_XES_BYTES = 2 * 1024**3
#: log > trace > event > attribute is depth 4; nested list and container attributes go a few
#: levels deeper in real files, never near this.
MAX_DEPTH = 64
CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
#: The XES attribute behind each column by default.
XES_KEYS = {
    CASE: "concept:name",
    ACTIVITY: "concept:name",
    TIME: "time:timestamp",
    RESOURCE: "org:resource",
    ROLE: "org:role",
}


class _Refused(Exception):
    """Raised inside expat's callbacks to stop the parse; turned into an EventLogError."""


class _Collector:
    """expat callbacks that keep, per event, only the attributes the log needs."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self.case_key = keys[CASE]
        self.event_keys = {purpose: keys[purpose] for purpose in keys if purpose != CASE}
        self.wanted = set(self.event_keys.values())
        self.columns: dict[str, list[str | None]] = {p: [] for p in (CASE, *self.event_keys)}
        self.case_of_event: list[int] = []
        self.trace_names: list[str | None] = []
        self.depth = 0
        self.in_event = False
        self.in_trace = False
        self.event: dict[str, str] = {}
        self.trace_name: str | None = None

    def start(self, name: str, attrs: list[str]) -> None:
        depth = self.depth = self.depth + 1
        if depth > MAX_DEPTH:
            raise _Refused(f"elements are nested more than {MAX_DEPTH} deep")
        if depth == 4 and self.in_event:
            if len(attrs) >= 4 and attrs[0] == "key" and attrs[2] == "value":
                key, value = attrs[1], attrs[3]
            else:
                pairs = dict(zip(attrs[::2], attrs[1::2], strict=True))
                key, value = pairs.get("key", ""), pairs.get("value", "")
            if key in self.wanted:
                self.event[key] = value
        elif depth == 3 and name == "event" and self.in_trace:
            self.in_event = True
            self.event = {}
        elif depth == 3 and self.in_trace:
            pairs = dict(zip(attrs[::2], attrs[1::2], strict=True))
            if pairs.get("key") == self.case_key:
                self.trace_name = pairs.get("value")
        elif depth == 2 and name == "trace":
            self.in_trace = True
            self.trace_name = None
            self.trace_names.append(None)
        elif depth == 1 and name != "log":
            raise _Refused(f"the root element is <{name}>, not <log>: not an XES file")

    def end(self, name: str) -> None:
        depth = self.depth
        self.depth = depth - 1
        if depth == 3 and self.in_event:
            self.in_event = False
            event = self.event
            for purpose, key in self.event_keys.items():
                self.columns[purpose].append(event.get(key))
            self.case_of_event.append(len(self.trace_names) - 1)
        elif depth == 2 and self.in_trace:
            self.in_trace = False
            self.trace_names[-1] = self.trace_name


def _refuse_doctype(*_args: object) -> None:
    raise _Refused("declares a document type (DTD); XES files never need one")


def _refuse_entity(*_args: object) -> None:
    raise _Refused("declares or references an entity; XES files never need one")


def _parser(collector: _Collector) -> expat.XMLParserType:
    parser = expat.ParserCreate()
    parser.ordered_attributes = True
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_entity
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    return parser


def read_xes_log(
    path: str | os.PathLike[str],
    keys: Mapping[str, str | None] | None = None,
    *,
    timestamp_format: str | None = None,
    max_bytes: int = MAX_XES_BYTES,
) -> EventLog:
    """Read an XES or XES.gz log; ``keys`` overrides the attribute used for each purpose
    (``case`` is a trace attribute, the others event attributes; ``start`` has no default)."""
    path = Path(path)
    source = str(path)
    chosen = {**XES_KEYS, **{k: v for k, v in (keys or {}).items() if v}}
    collector = _Collector(chosen)
    parser = _parser(collector)
    read = 0
    try:
        with path.open("rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw) if compressed else raw
            while chunk := stream.read(CHUNK):
                read += len(chunk)
                if read > max_bytes:
                    what = "decompresses to" if compressed else "is"
                    raise EventLogError(
                        f"{source}: {what} more than {max_bytes / 1024**2:,.0f} MiB of XML; "
                        "larger logs are refused"
                    )
                parser.Parse(chunk, False)
            if read == 0:
                raise EventLogError(f"{source}: the file is empty")
            parser.Parse(b"", True)
    except _Refused as exc:
        raise EventLogError(f"{source}: refused: {exc}") from None
    except expat.ExpatError as exc:
        raise EventLogError(
            f"{source}: not well-formed XML at line {exc.lineno}, column {exc.offset + 1}: "
            f"{expat.ErrorString(exc.code)}"
        ) from None
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise EventLogError(f"{source}: cannot read: {reason}") from None
    return _to_log(collector, chosen, source, timestamp_format)


def _to_log(
    collector: _Collector, keys: Mapping[str, str], source: str, fmt: str | None
) -> EventLog:
    columns = collector.columns
    if not collector.case_of_event:
        raise EventLogError(f"{source}: no events: the log has no <trace> with <event>s")
    names = [
        name if name is not None else f"trace {index + 1}"
        for index, name in enumerate(collector.trace_names)
    ]
    frame = pl.DataFrame(
        {
            CASE: pl.Series(names, dtype=pl.String).gather(collector.case_of_event),
            **{p: pl.Series(v, dtype=pl.String) for p, v in columns.items() if p != CASE},
        }
    )
    for purpose in (ACTIVITY, TIME):
        missing = frame[purpose].is_null()
        if missing.any():
            row = int(missing.arg_true()[0])
            trace = collector.case_of_event[row]
            raise EventLogError(
                f"{source}: event {row + 1} (in trace {trace + 1}, case {names[trace]!r}) has "
                f"no {keys[purpose]!r} attribute"
            )
    for purpose in (TIME, START):
        if purpose not in frame.columns:
            continue
        raw = frame[purpose]
        quick = pl.select(timestamp_expression(pl.lit(raw), fmt)).to_series()
        if quick.null_count() != raw.null_count():
            quick = parse_timestamps(
                raw,
                quick,
                column=keys[purpose],
                source=source,
                fmt=fmt,
                allow_empty=purpose == START,
            )
        frame = frame.with_columns(quick.alias(purpose))
    for purpose in (START, RESOURCE, ROLE):
        if purpose in frame.columns and frame[purpose].null_count() == frame.height:
            frame = frame.drop(purpose)
    used = {p: keys[p] for p in frame.columns}
    return EventLog.from_events(frame, source, used)
