"""Reading an event log from an XES file (IEEE 1849), plain or gzip-compressed.

Two ways through the file, one answer. :func:`workflow.interchange.xes_fast.scan` reads the XES
that tools write several times faster than any per-element parser, and declines everything it is
not sure about; then the file is streamed through expat, which is the reference: it reads any
well-formed XES and its refusals are the ones users see. Both keep only the attributes the log
needs, so memory grows with the events, not with the size of the XML.

An XES file never needs a document type, so one is refused outright, with any entity
declaration or external reference (no entity is ever expanded beyond XML's five predefined
ones); nesting deeper than :data:`MAX_DEPTH` is refused, and so is a file, or the decompressed
content of a ``.gz``, larger than its limit, which stops a gzip bomb after at most that many
bytes. XES's own rules are checked too: events sit directly in traces, traces directly in the
log, and every typed attribute has a key and (lists and containers aside) a value.

As pm4py does, each trace's ``concept:name`` is its case id (traces sharing a name form one
case), the event's ``concept:name`` is the activity and ``time:timestamp`` the time;
``org:resource`` and ``org:role`` give lanes; only typed attributes (``string``, ``date``, ...)
count. Lifecycle transitions are not paired: every event counts, as in pm4py's
directly-follows graph.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from xml.parsers import expat

import numpy as np
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
from workflow.interchange.xes_fast import TYPED, WITHOUT_VALUE, XesColumns, scan

__all__ = ["MAX_DEPTH", "MAX_XES_BYTES", "XES_KEYS", "read_xes_log"]

#: Largest XML read, after decompression.
MAX_XES_BYTES = 2 * 1024**3
#: log > trace > event > attribute is depth 4; nested list and container attributes go a few
#: levels deeper in real files, never near this.
MAX_DEPTH = 64
CHUNK = 8 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
#: The XES attribute behind each column by default.
XES_KEYS = {
    CASE: "concept:name",
    ACTIVITY: "concept:name",
    TIME: "time:timestamp",
    RESOURCE: "org:resource",
    ROLE: "org:role",
}
_TYPED = frozenset(TYPED)


class _Refused(Exception):
    """Raised inside expat's callbacks to stop the parse; turned into an EventLogError."""


class _Collector:
    """expat callbacks that keep, per event, only the attributes the log needs."""

    def __init__(self, keys: Mapping[str, str], parser: expat.XMLParserType) -> None:
        self.parser = parser
        self.case_key = keys[CASE]
        self.event_keys = {purpose: keys[purpose] for purpose in keys if purpose != CASE}
        self.wanted = set(self.event_keys.values())
        self.columns: dict[str, list[str | None]] = {p: [] for p in self.event_keys}
        self.case_of_event: list[int] = []
        self.trace_names: list[str | None] = []
        self.path: list[str] = []
        self.event: dict[str, str] = {}
        self.trace_name: str | None = None

    def _refuse(self, what: str) -> _Refused:
        return _Refused(f"line {self.parser.CurrentLineNumber}: {what}")

    def start(self, name: str, attrs: list[str]) -> None:
        path = self.path
        depth = len(path) + 1
        if depth > MAX_DEPTH:
            raise _Refused(f"elements are nested more than {MAX_DEPTH} deep")
        parent = path[-1] if path else None
        path.append(name)
        if name in _TYPED:
            pairs = dict(zip(attrs[::2], attrs[1::2], strict=True))
            key, value = pairs.get("key"), pairs.get("value")
            if key is None or (value is None and name not in WITHOUT_VALUE):
                missing = "key" if key is None else "value"
                raise self._refuse(f"<{name}> without a {missing}: XES attributes need both")
            if depth == 4 and parent == "event" and key in self.wanted:
                self.event[key] = value or ""
            elif depth == 3 and parent == "trace" and key == self.case_key:
                self.trace_name = value
        elif name == "event":
            if depth != 3 or parent != "trace":
                raise self._refuse(f"an <event> inside <{parent}>: events belong in a <trace>")
            self.event = {}
        elif name == "trace":
            if depth != 2:
                raise self._refuse(f"a <trace> inside <{parent}>: traces belong in the <log>")
            self.trace_name = None
            self.trace_names.append(None)
        elif depth == 1 and name != "log":
            raise _Refused(f"the root element is <{name}>, not <log>: not an XES file")

    def end(self, name: str) -> None:
        self.path.pop()
        if name == "event":
            event = self.event
            for purpose, key in self.event_keys.items():
                self.columns[purpose].append(event.get(key))
            self.case_of_event.append(len(self.trace_names) - 1)
        elif name == "trace":
            self.trace_names[-1] = self.trace_name

    def result(self) -> XesColumns:
        return XesColumns(
            trace_names=pl.Series(self.trace_names, dtype=pl.String),
            case_of_event=pl.Series(self.case_of_event, dtype=pl.Int64),
            columns={p: pl.Series(v, dtype=pl.String) for p, v in self.columns.items()},
        )


def _refuse_doctype(*_args: object) -> None:
    raise _Refused("declares a document type (DTD); XES files never need one")


def _refuse_entity(*_args: object) -> None:
    raise _Refused("declares or references an entity; XES files never need one")


def _parser(keys: Mapping[str, str]) -> tuple[expat.XMLParserType, _Collector]:
    parser = expat.ParserCreate()
    collector = _Collector(keys, parser)
    parser.ordered_attributes = True
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_entity
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    return parser, collector


def _blocks(path: Path, max_bytes: int) -> Iterator[bytes]:
    """The file's XML, decompressed when it is gzip, in blocks; refuses more than ``max_bytes``."""
    source = str(path)
    read = 0
    try:
        with path.open("rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw) if compressed else raw
            while block := stream.read(CHUNK):
                read += len(block)
                if read > max_bytes:
                    what = "decompresses to" if compressed else "is"
                    raise EventLogError(
                        f"{source}: {what} more than {max_bytes / 1024**2:,.0f} MiB of XML; "
                        "larger logs are refused"
                    )
                yield block
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise EventLogError(f"{source}: cannot read: {reason}") from None
    if read == 0:
        raise EventLogError(f"{source}: the file is empty")


def _read_with_expat(path: Path, keys: Mapping[str, str], max_bytes: int) -> XesColumns:
    source = str(path)
    parser, collector = _parser(keys)
    try:
        for block in _blocks(path, max_bytes):
            parser.Parse(block, False)
        parser.Parse(b"", True)
    except _Refused as exc:
        raise EventLogError(f"{source}: refused: {exc}") from None
    except expat.ExpatError as exc:
        raise EventLogError(
            f"{source}: not well-formed XML at line {exc.lineno}, column {exc.offset + 1}: "
            f"{expat.ErrorString(exc.code)}"
        ) from None
    except LookupError as exc:
        raise EventLogError(f"{source}: not readable XML: {exc}") from None
    return collector.result()


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
    chosen = {**XES_KEYS, **{k: v for k, v in (keys or {}).items() if v}}
    event_keys = {purpose: key for purpose, key in chosen.items() if purpose != CASE}
    found = scan(_blocks(path, max_bytes), event_keys, chosen[CASE], MAX_DEPTH)
    if found is None:
        found = _read_with_expat(path, chosen, max_bytes)
    return _to_log(found, chosen, str(path), timestamp_format)


def _to_log(found: XesColumns, keys: Mapping[str, str], source: str, fmt: str | None) -> EventLog:
    case_of_event = found.case_of_event
    if case_of_event.len() == 0:
        raise EventLogError(f"{source}: no events: the log has no <trace> with <event>s")
    numbers = pl.Series(np.arange(1, found.trace_names.len() + 1))
    names = found.trace_names.fill_null(pl.format("trace {}", pl.lit(numbers)))
    frame = pl.DataFrame({CASE: names.gather(case_of_event), **found.columns})
    for purpose in (ACTIVITY, TIME):
        missing = frame[purpose].is_null()
        if missing.any():
            row = int(missing.arg_true()[0])
            trace = int(case_of_event[row])
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
