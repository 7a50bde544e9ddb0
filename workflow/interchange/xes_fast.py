"""The fast way through an XES file: vectorised over its tags, declining anything unusual.

Why it exists: expat calls back into Python for every start and end tag, which holds a reader
near 140,000 events/s, and an XES log is millions of nearly identical tags. Split at its double
quotes, a document falls apart into the quoted values and the markup between them; with the
values taken out, the markup of a whole log is a dozen distinct tags (``string key="" value=""/>``,
``/event>``, ...) repeated a million times. So each distinct tag is parsed once with a strict
pattern, and nesting, balance and the XES structure (events directly in traces, typed attributes
with a key and a value) are checked on integer arrays with numpy; the wanted values are then
gathered from the quoted parts by position. Text is handled in slices of :data:`SLICE` bytes cut
before a ``<``, carrying the open elements from one slice to the next, so memory follows the
slice, not the file.

This path only ever accepts. Whatever it is not sure of (a document type, a processing
instruction, CDATA, single-quoted attributes, text between tags, an entity it does not know, a
control character, another encoding than UTF-8, a tag out of balance, an event outside a trace,
an attribute without key or value, ...) makes :func:`scan` return ``None``, and the reader reads
the file again with expat, which either reads it or names what is wrong. Refusals and their
messages therefore live in one place, and this module needs to be right only on what it takes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["SLICE", "TYPED", "XesColumns", "scan", "unescape"]

SLICE = 32 * 1024 * 1024
#: XES's attribute elements; all but list and container carry a value.
TYPED = ("string", "date", "int", "float", "boolean", "id", "list", "container")
WITHOUT_VALUE = ("list", "container")
MAX_DISTINCT_TAGS = 20_000

_NAME = r"[A-Za-z_:][A-Za-z0-9_.:-]*"
_S = r"[ \t\n]"
#: A tag with its values emptied, as it appears between two ``<`` of the markup.
_TAG = re.compile(rf"(/?)({_NAME})((?:{_S}+{_NAME}{_S}*={_S}*\"\")*){_S}*(/?)>{_S}*", re.ASCII)
_ATTRIBUTE = re.compile(rf"({_NAME}){_S}*=", re.ASCII)
_DECLARATION = re.compile(
    r"<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*([\"'])1\.[0-9]+\1"
    r"(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*([\"'])(utf-8|us-ascii|ascii)\2)?"
    r"(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*([\"'])(?:yes|no)\4)?[ \t\n]*\?>",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);")
_BAD_AMPERSAND = re.compile(rb"&(?!(?:#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);)")
#: U+FFFE and U+FFFF in UTF-8: not characters, so not XML.
_NONCHARACTER = re.compile(rb"\xef\xbf[\xbe\xbf]")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
#: Bytes that XML 1.0 forbids anywhere; ``translate`` deletes the rest in one C pass.
_ALLOWED_BYTES = bytes(range(32, 256)) + b"\t\n\r"


class _Decline(Exception):
    """This file is not one the fast path is sure about."""


@dataclass
class XesColumns:
    """What a reader collects from the file, before timestamps are parsed.

    ``case_of_event`` gives each event's trace number; ``trace_names`` the trace's name (null
    when it has none); ``columns`` the raw text of each wanted event attribute (null if absent).
    """

    trace_names: pl.Series
    case_of_event: pl.Series
    columns: dict[str, pl.Series]


def _valid_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or (0x10000 <= code <= 0x10FFFF)
    )


def _reference(match: re.Match[str]) -> str:
    name = match.group(1)
    if name[0] != "#":
        return _NAMED[name]
    code = int(name[2:], 16) if name[1] == "x" else int(name[1:])
    if not _valid_char(code):
        raise _Decline
    return chr(code)


def unescape(value: str) -> str:
    """An attribute value as XML reads it: whitespace characters become spaces, references
    are replaced (raw line breaks were already normalised to ``\\n``)."""
    value = value.replace("\t", " ").replace("\n", " ")
    return _REFERENCE.sub(_reference, value) if "&" in value else value


class _Scanner:
    """State carried from one slice to the next: open elements, counts, collected rows."""

    def __init__(self, keys: Mapping[str, str], case_key: str, max_depth: int) -> None:
        self.max_depth = max_depth
        self.event_keys = dict(keys)
        self.case_key = case_key
        self.names: dict[str, int] = {}
        for name in ("log", "trace", "event", *TYPED):
            self.names[name] = len(self.names)
        self.stack: list[int] = []
        self.events = self.traces = 0
        self.started = self.finished = False
        self.event_values: dict[str, list[tuple[np.ndarray, pl.Series]]] = {
            key: [] for key in set(keys.values())
        }
        self.trace_values: dict[str, list[tuple[np.ndarray, pl.Series]]] = {case_key: []}
        self.event_traces: list[np.ndarray] = []

    def feed(self, data: bytes, start: int, end: int) -> None:
        """Read ``data[start:end]``, a run of whole tags (``start`` skips the prolog)."""
        if data.translate(None, _ALLOWED_BYTES) or (b"\xef" in data and _NONCHARACTER.search(data)):
            raise _Decline
        if b"\r" in data or (b"!" in data and data.find(b"<!", start, end) >= 0):
            data, start, end = self._normalised(data[start:end]), 0, None
        if b"?" in data and data.find(b"<?", start, end) >= 0:
            raise _Decline
        if b"&" in data and _BAD_AMPERSAND.search(data, start, end or len(data)):
            raise _Decline
        try:
            text = pl.Series([data[start:end]], dtype=pl.Binary).cast(pl.String)
        except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError):
            raise _Decline from None
        self._tags(text, data.count(b"<", start, end))

    @staticmethod
    def prolog(data: bytes) -> int:
        """Where the document starts after a byte-order mark and the XML declaration."""
        start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        if data.startswith(b"<?xml", start):
            declaration = _DECLARATION.match(data[start : start + 512].decode("ascii", "replace"))
            if declaration is None:
                raise _Decline
            start += declaration.end()
        return start

    @staticmethod
    def _normalised(text: bytes) -> bytes:
        """Line ends as XML reads them, comments left out; any other ``<!`` is declined."""
        text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        parts, at = [], 0
        while (start := text.find(b"<!--", at)) >= 0:
            end = text.find(b"-->", start + 4)
            if end < 0 or b"--" in text[start + 4 : end]:
                raise _Decline
            parts.append(text[at:start])
            at = end + 3
        parts.append(text[at:])
        text = b"".join(parts)
        if b"<!" in text:
            raise _Decline
        return text

    def _tags(self, text: pl.Series, tags: int) -> None:
        quoted = text.str.split('"').explode()
        if quoted.len() % 2 == 0:
            raise _Decline  # a quote left open
        values = quoted.gather_every(2, offset=1)
        markup = quoted.gather_every(2).str.join('""').str.split("<").explode()
        if markup.len() - 1 != tags:
            raise _Decline  # a '<' inside a value
        lead = markup[0]
        if lead.strip(" \t\n") or (lead and self.stack):
            raise _Decline  # text between tags
        pieces = markup.slice(1)
        if pieces.len() == 0:
            return
        distinct = pieces.unique().to_list()
        if len(distinct) > MAX_DISTINCT_TAGS:
            raise _Decline
        shapes = np.array([self._shape(piece) for piece in distinct], dtype=np.int32).T
        codes = pieces.cast(pl.Enum(distinct)).to_physical().to_numpy()
        held = np.array(self.stack, dtype=np.int32)
        opened = np.ones(held.size, np.int32), held, *(np.zeros(held.size, np.int32),) * 3
        kind, name, count, key_at, value_at = (
            np.concatenate([before, column[codes]])
            for before, column in zip(opened, shapes, strict=True)
        )
        self._structure(held.size, kind, name, count, key_at, value_at, values)

    def _shape(self, piece: str) -> tuple[int, int, int, int, int]:
        """(kind: 1 open, 0 empty, -1 close; name id; attributes; key's and value's place)."""
        match = _TAG.fullmatch(piece)
        if match is None:
            raise _Decline
        closing, name, attributes, empty = match.groups()
        if closing and (attributes or empty):
            raise _Decline
        names = _ATTRIBUTE.findall(attributes)
        if len(set(names)) != len(names):
            raise _Decline
        kind = -1 if closing else 0 if empty else 1
        number = self.names.setdefault(name, len(self.names))
        key = names.index("key") if "key" in names else -1
        value = names.index("value") if "value" in names else -1
        return kind, number, len(names), key, value

    def _structure(
        self,
        held: int,
        kind: np.ndarray,
        name: np.ndarray,
        count: np.ndarray,
        key_at: np.ndarray,
        value_at: np.ndarray,
        values: pl.Series,
    ) -> None:
        """Check nesting, balance and XES's structure; keep the wanted attributes' values.

        The first ``held`` rows stand for the elements left open by the previous slice.
        """
        new = np.arange(kind.size) >= held
        depth = np.cumsum(kind, dtype=np.int32)
        level = depth + (kind != 1)
        if self.finished or depth.min() < 0 or level.max() > self.max_depth:
            raise _Decline
        if count.sum() != values.len():
            raise _Decline
        closed = np.flatnonzero(depth == 0)
        if closed.size and closed[0] != kind.size - 1:
            raise _Decline  # more after the root element
        roots = np.flatnonzero(new & (level == 1) & (kind != -1))
        if roots.size > (0 if self.started else 1) or (roots.size and name[roots[0]] != 0):
            raise _Decline
        self.started |= bool(roots.size)
        self.finished = bool(closed.size)
        self._balance(kind, name, level)

        ids = self.names
        starts = new & (kind != -1)
        typed = starts & (name >= ids[TYPED[0]]) & (name <= ids[TYPED[-1]])
        valueless = (name == ids["list"]) | (name == ids["container"])
        if np.any(typed & ((key_at < 0) | ((value_at < 0) & ~valueless))):
            raise _Decline
        rows = np.arange(kind.size, dtype=np.int32)
        opening = kind != -1
        parent2 = name[np.maximum.accumulate(np.where((level == 2) & opening, rows, 0))]
        parent3 = name[np.maximum.accumulate(np.where((level == 3) & opening, rows, 0))]
        is_trace = starts & (name == ids["trace"])
        is_event = starts & (name == ids["event"])
        if np.any(is_trace & (level != 2)) or np.any(
            is_event & ((level != 3) | (parent2 != ids["trace"]))
        ):
            raise _Decline
        trace_no = self.traces + np.cumsum(is_trace) - 1
        event_no = self.events + np.cumsum(is_event) - 1
        first_value = np.cumsum(count) - count
        where = first_value, key_at, value_at, values
        in_event = typed & (level == 4) & (parent3 == ids["event"])
        in_trace = typed & (level == 3) & (parent2 == ids["trace"])
        self._keep(self.event_values, in_event, event_no, *where)
        self._keep(self.trace_values, in_trace, trace_no, *where)
        self.event_traces.append(trace_no[is_event])
        self.traces += int(is_trace.sum())
        self.events += int(is_event.sum())

    def _balance(self, kind: np.ndarray, name: np.ndarray, level: np.ndarray) -> None:
        """Each end tag closes the last element opened at its level; what stays open is kept."""
        tags = np.flatnonzero(kind != 0)
        order = tags[np.argsort(level[tags], kind="stable")]
        kind, name, level = kind[order], name[order], level[order]
        ends = np.flatnonzero(kind == -1)
        if ends.size and (
            ends[0] == 0
            or np.any(kind[ends - 1] != 1)
            or np.any(name[ends] != name[ends - 1])
            or np.any(level[ends] != level[ends - 1])
        ):
            raise _Decline
        last = np.flatnonzero(np.append(np.diff(level) != 0, True))
        self.stack = name[last[kind[last] == 1]].tolist()

    @staticmethod
    def _keep(
        into: dict[str, list[tuple[np.ndarray, pl.Series]]],
        mask: np.ndarray,
        owner: np.ndarray,
        first_value: np.ndarray,
        key_at: np.ndarray,
        value_at: np.ndarray,
        values: pl.Series,
    ) -> None:
        """Add the (owner, value) pairs of the attributes in ``mask`` whose key is wanted."""
        rows = np.flatnonzero(mask)
        keys = values.gather(first_value[rows] + key_at[rows])
        if keys.str.contains("[&\t\n]").any():
            raise _Decline  # a key that reads differently once unescaped
        for key, found in into.items():
            chosen = (keys == key).to_numpy()
            picked = rows[chosen]
            if np.any(value_at[picked] < 0):
                raise _Decline
            found.append((owner[picked], values.gather(first_value[picked] + value_at[picked])))

    def result(self) -> XesColumns:
        if not self.finished:
            raise _Decline
        return XesColumns(
            trace_names=_column(self.trace_values[self.case_key], self.traces),
            case_of_event=pl.Series(np.concatenate(self.event_traces), dtype=pl.Int64),
            columns={
                purpose: _column(self.event_values[key], self.events)
                for purpose, key in self.event_keys.items()
            },
        )


def _column(parts: list[tuple[np.ndarray, pl.Series]], size: int) -> pl.Series:
    """A column of ``size`` values from (owner, value) pairs; the last value of an owner wins."""
    owners = np.concatenate([owner for owner, _ in parts])
    values = pl.concat([value for _, value in parts])
    if owners.size and np.any(np.diff(owners) <= 0):
        last = np.flatnonzero(np.append(np.diff(owners) != 0, True))
        owners, values = owners[last], values.gather(last)
    odd = values.str.contains("[&\t\n]")
    if odd.any():
        fixed = [unescape(v) for v in values.filter(odd).to_list()]
        values = values.scatter(odd.arg_true(), fixed)
    column = pl.repeat(None, size, dtype=pl.String, eager=True)
    return column.scatter(owners, values) if owners.size else column


def _slices(blocks: Iterable[bytes]) -> Iterator[tuple[bytes, int]]:
    """Blocks joined into slices of at least :data:`SLICE` bytes, each given with the end of
    its last whole tag (the rest opens the next slice).

    A slice with no tag to cut before is text or a tag longer than a slice, which no event log
    has: it is left to expat rather than held whole (a compressed file of nothing but blanks
    would otherwise be gathered into memory up to its unpacked limit, copied at every block).
    """
    pending: list[bytes] = []
    held = 0
    for block in blocks:
        pending.append(block)
        held += len(block)
        if held >= SLICE:
            data = b"".join(pending)
            cut = data.rfind(b"<")
            if cut <= 0:
                raise _Decline
            yield data, cut
            data = data[cut:]
            pending, held = [data], len(data)
    data = b"".join(pending)
    yield data, len(data)


def scan(
    blocks: Iterable[bytes], keys: Mapping[str, str], case_key: str, max_depth: int
) -> XesColumns | None:
    """The events of an XES document given as byte blocks, or ``None`` to read it with expat.

    ``keys`` maps each event column to its attribute key; ``case_key`` is the trace attribute
    naming the case; elements nested deeper than ``max_depth`` are left to expat to refuse.
    """
    scanner = _Scanner(keys, case_key, max_depth)
    try:
        for number, (data, end) in enumerate(_slices(blocks)):
            scanner.feed(data, 0 if number else scanner.prolog(data), end)
        return scanner.result()
    except _Decline:
        return None
