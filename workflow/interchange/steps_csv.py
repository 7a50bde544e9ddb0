"""A process as a CSV step list, for people who keep their processes in a spreadsheet.

One row per step, one column per attribute (the columns are listed in :data:`COLUMNS` and
explained in ``docs/IMPORTS.md``). Only ``name`` is required; everything else has the same
defaults as the YAML format. Where a step leads is the ``next`` column: entries separated by
``;``, each ``TARGET``, optionally ``=PROBABILITY`` (``0.8`` or ``80%``), a ``(label)`` and the
word ``rework``::

    id,name,kind,lane,touch_minutes,next
    check,Check the claim,decision,Claims desk,10,pay=0.9 (complete); ask=0.1 (incomplete)
    ask,Ask for the missing papers,task,Claims desk,5,check rework
    pay,Pay the claim,task,Finance,3,

Two conveniences make a plain list enough: when no row uses ``next``, each step leads to the
row below it; when a row leaves ``next`` empty, it leads to the end. A list without a ``start``
row gets one before its first row, and a list without an ``end`` row gets one after its last.
Lanes come from the ``lane`` column (their names); ``lane_id``, ``lane_kind`` and
``lane_cost_per_hour`` may say more. The process's own name, perspective, yearly cases and
description may sit in the ``process_*`` columns of the first row.

Exports are safe to open in a spreadsheet: a cell starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return gets a leading apostrophe, so it is shown as text and never run as a
formula (OWASP's advice on CSV injection). The importer removes that apostrophe again, so
``read_steps_csv(write_steps_csv(p))`` gives the process back.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from workflow.errors import ModelError, Problem
from workflow.interchange.to_process import slug
from workflow.model import Flow, Lane, Process, Step
from workflow.validate import ID_PATTERN, check_process
from workflow.vocabulary import LaneKind, Layer, Perspective, StepKind, ValueClass, Waste, allowed

__all__ = [
    "COLUMNS",
    "MAX_ROWS",
    "MAX_STEPS_CSV_BYTES",
    "looks_like_step_list",
    "neutralise",
    "read_steps_csv",
    "write_steps_csv",
]

MAX_STEPS_CSV_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5_000
#: Every column the importer reads, in the order the exporter writes them.
COLUMNS = (
    "id",
    "name",
    "kind",
    "lane",
    "lane_id",
    "lane_kind",
    "lane_cost_per_hour",
    "lane_description",
    "layer",
    "touch_minutes",
    "wait_minutes",
    "cases_per_year",
    "value_class",
    "customer_value",
    "business_value",
    "required_by",
    "pct_complete_accurate",
    "waste",
    "systems",
    "inputs",
    "outputs",
    "customer_name",
    "channel",
    "description",
    "next",
    "process_name",
    "process_perspective",
    "process_cases_per_year",
    "process_description",
    "process_lanes",
)
#: Other spellings accepted in a header, after lower-casing and turning spaces and ``-`` into
#: ``_``.
ALIASES = {
    "step": "name",
    "step_name": "name",
    "step_id": "id",
    "type": "kind",
    "actor": "lane",
    "role": "lane",
    "touch": "touch_minutes",
    "wait": "wait_minutes",
    "volume": "cases_per_year",
    "%c&a": "pct_complete_accurate",
    "pct_c&a": "pct_complete_accurate",
    "next_steps": "next",
    "goes_to": "next",
    "then": "next",
}
SEPARATORS = (",", ";", "\t")
LIST_SEPARATOR = ";"
#: Characters that make a spreadsheet treat a cell as a formula (or hide one behind it).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ENTRY = re.compile(
    r"""^(?P<target>[^=()]+?)
        (?:\s*=\s*(?P<probability>[^\s()]+))?
        (?:\s*\((?P<label>[^)]*)\))?
        (?:\s+(?P<rework>rework))?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


def neutralise(value: str) -> str:
    """``value`` as a cell a spreadsheet shows as text, never evaluates."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _restore(value: str) -> str:
    """Undo :func:`neutralise` (an apostrophe before a formula character goes)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _key(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return ALIASES.get(key, key)


# --- reading ----------------------------------------------------------------------------------
def _decode(data: bytes, source: str) -> str:
    if len(data) > MAX_STEPS_CSV_BYTES:
        raise ModelError(
            [
                Problem(
                    "",
                    f"is {len(data) / 1024**2:.1f} MiB; step lists over "
                    f"{MAX_STEPS_CSV_BYTES // 1024**2} MiB are refused",
                )
            ],
            source,
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(
            [Problem("", f"is not UTF-8 text (byte {exc.start + 1}); save the CSV as UTF-8")],
            source,
        ) from None
    if "\x00" in text:
        raise ModelError([Problem("", "is not a text file")], source)
    if not text.strip():
        raise ModelError([Problem("", "is empty")], source)
    return text


def _sniff(first_line: str) -> str:
    best, count = ",", 0
    for separator in SEPARATORS:
        try:
            fields = next(csv.reader([first_line], delimiter=separator), [])
        except csv.Error:
            continue
        if len(fields) > count:
            best, count = separator, len(fields)
    return best


def looks_like_step_list(head: bytes) -> bool:
    """Whether a CSV's first line is a step list's header (an event log's has a case column)."""
    lines = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").splitlines()
    text = lines[0] if lines else ""
    try:
        header = {_key(h) for h in next(csv.reader([text], delimiter=_sniff(text)), [])}
    except csv.Error:  # a NUL or stray quote: not a step list this can read, say so later
        return False
    step_columns = {"next", "kind", "lane", "id", "touch_minutes"}
    return "name" in header and (len(header) < 3 or bool(header & step_columns))


@dataclass
class _Row:
    number: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "").strip()

    def words(self, column: str) -> tuple[str, ...]:
        """A list cell's entries (separated by ``;``)."""
        return tuple(
            part.strip() for part in self.get(column).split(LIST_SEPARATOR) if part.strip()
        )


class _Reader:
    def __init__(self, rows: list[_Row], source: str) -> None:
        self.rows = rows
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, row: _Row | None, column: str, message: str) -> None:
        where = f"row {row.number}" if row else ""
        if column:
            where = f"{where}, column {column!r}" if where else f"column {column!r}"
        self.problems.append(Problem(where, message))

    def number(self, row: _Row, column: str, default: float | None) -> float | None:
        text = row.get(column).replace(" ", "")
        if not text:
            return default
        if re.fullmatch(r"-?\d+,\d+", text):
            text = text.replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            self.problem(row, column, f"must be a number (got {text!r})")
            return default
        if not math.isfinite(value) or value < 0:
            self.problem(row, column, f"must be a number of 0 or more (got {text!r})")
            return default
        return value

    def whole(self, row: _Row, column: str, high: int) -> int:
        value = self.number(row, column, 0.0) or 0.0
        if value != int(value) or value > high:
            self.problem(row, column, f"must be a whole number from 0 to {high}")
            return 0
        return int(value)

    def word(self, row: _Row, column: str, enum: type[StrEnum], default=None):
        text = row.get(column)
        if not text:
            return default
        wanted = _key(text)
        for member in enum:
            if wanted in (member.value.lower(), _key(member.name)):
                return member
        self.problem(row, column, f"must be one of {allowed(enum)} (got {text!r})")
        return default


def _read_rows(text: str, source: str) -> tuple[list[str], list[_Row]]:
    first_line = text.split("\n", 1)[0].rstrip("\r")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff(first_line))
    try:
        header = [_key(name) for name in next(reader)]
        known = [name for name in header if name in COLUMNS]
        if "name" not in known:
            raise ModelError(
                [
                    Problem(
                        "row 1",
                        "the header needs a 'name' column (the step names); the columns "
                        f"read are {', '.join(COLUMNS)}",
                    )
                ],
                source,
            )
        rows: list[_Row] = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise ModelError(
                    [Problem(f"row {number}", f"a step list may have at most {MAX_ROWS} steps")],
                    source,
                )
            values = {
                name: _restore(cell)
                for name, cell in zip(header, cells, strict=False)
                if name in COLUMNS
            }
            rows.append(_Row(number, values))
    except csv.Error as exc:
        raise ModelError(
            [Problem(f"row {reader.line_num}", f"is not valid CSV: {exc}")], source
        ) from None
    if not rows:
        raise ModelError([Problem("", "has a header but no steps")], source)
    return header, rows


def _lanes(reader: _Reader, rows: list[_Row]) -> tuple[list[Lane], dict[int, str]]:
    """The lanes named in the list, and the lane id of each row that names one."""
    lanes: dict[str, Lane] = {}
    first_row: dict[str, _Row] = {}
    lane_of: dict[int, str] = {}
    for row in rows:
        name, given_id = row.get("lane"), row.get("lane_id")
        if not name and not given_id:
            continue
        lane_id = given_id or slug(name, "lane")
        if not ID_PATTERN.match(lane_id):
            reader.problem(row, "lane_id", "use letters, digits, '_', '-' or '.'")
            continue
        lane_of[row.number] = lane_id
        kind = reader.word(row, "lane_kind", LaneKind)
        cost = reader.number(row, "lane_cost_per_hour", None)
        if lane_id not in lanes:
            lanes[lane_id] = Lane(
                lane_id,
                name or lane_id,
                kind or LaneKind.ROLE,
                cost or 0.0,
                row.get("lane_description"),
            )
            first_row[lane_id] = row
            continue
        known = lanes[lane_id]
        if name and name != known.name:
            reader.problem(
                row,
                "lane",
                f"lane {lane_id!r} is called {known.name!r} in row "
                f"{first_row[lane_id].number}; give one lane one name",
            )
        if (kind and kind is not known.kind) or (cost is not None and cost != known.cost_per_hour):
            reader.problem(
                row,
                "lane_kind" if kind and kind is not known.kind else "lane_cost_per_hour",
                f"differs from row {first_row[lane_id].number} for lane {known.name!r}",
            )
    order = next((row.words("process_lanes") for row in rows if row.get("process_lanes")), ())
    rank = {lane_id: index for index, lane_id in enumerate(order)}
    ordered = sorted(lanes.values(), key=lambda lane: rank.get(lane.id, len(rank)))
    return ordered, lane_of


def _step(reader: _Reader, row: _Row, step_id: str, lane: str | None) -> Step:
    volume = reader.number(row, "cases_per_year", None)
    waste = []
    for word in row.words("waste"):
        found = next((w for w in Waste if _key(word) in (w.value, _key(w.name))), None)
        if found is None:
            reader.problem(row, "waste", f"must be among {allowed(Waste)} (got {word!r})")
        else:
            waste.append(found)
    pct = reader.number(row, "pct_complete_accurate", 100.0)
    return Step(
        id=step_id,
        name=row.get("name")[:200],
        kind=reader.word(row, "kind", StepKind, StepKind.TASK),
        lane=lane,
        layer=reader.word(row, "layer", Layer),
        touch_minutes=reader.number(row, "touch_minutes", 0.0) or 0.0,
        wait_minutes=reader.number(row, "wait_minutes", 0.0) or 0.0,
        volume=volume,
        value_class=reader.word(row, "value_class", ValueClass),
        customer_value=reader.whole(row, "customer_value", 5),
        business_value=reader.whole(row, "business_value", 5),
        required_by=row.get("required_by"),
        pct_complete_accurate=100.0 if pct is None else pct,
        waste=tuple(dict.fromkeys(waste)),
        systems=row.words("systems"),
        inputs=row.words("inputs"),
        outputs=row.words("outputs"),
        customer_name=row.get("customer_name"),
        channel=row.get("channel"),
        description=row.get("description"),
    )


def _ids(reader: _Reader, rows: list[_Row]) -> list[str]:
    given = [row.get("id") for row in rows]
    taken = {i for i in given if i}
    ids: list[str] = []
    seen: dict[str, int] = {}
    for row, step_id in zip(rows, given, strict=True):
        if not row.get("name"):
            reader.problem(row, "name", "every step needs a name")
        if step_id:
            if not ID_PATTERN.match(step_id):
                reader.problem(
                    row,
                    "id",
                    "use letters, digits, '_', '-' or '.' (starting with one of the "
                    "first two, at most 100 long)",
                )
            if step_id in seen:
                reader.problem(row, "id", f"{step_id!r} is also the id of row {seen[step_id]}")
            seen[step_id] = row.number
        else:
            base = slug(row.get("name"), "step")[:90]
            step_id, n = base, 1
            while step_id in taken:
                n += 1
                step_id = f"{base}-{n}"
            taken.add(step_id)
        ids.append(step_id)
    return ids


def _probability(reader: _Reader, row: _Row, text: str) -> float | None:
    if not text:
        return None
    percent = text.endswith("%")
    try:
        value = float(text.rstrip("%").replace(",", "."))
    except ValueError:
        reader.problem(row, "next", f"{text!r} is not a probability (write 0.8 or 80%)")
        return None
    value = value / 100 if percent else value
    if not 0 <= value <= 1:
        reader.problem(row, "next", f"{text!r} is not a probability between 0 and 1")
        return None
    return value


def _targets(
    reader: _Reader, row: _Row, ids: dict[str, str], names: dict[str, str]
) -> list[tuple[str, Flow]]:
    found: list[tuple[str, Flow]] = []
    for entry in row.get("next").split(LIST_SEPARATOR):
        entry = entry.strip()
        if not entry:
            continue
        match = _ENTRY.match(entry)
        if match is None:
            reader.problem(
                row,
                "next",
                f"cannot read {entry!r}; write TARGET, TARGET=0.8 or TARGET=0.8 (label)",
            )
            continue
        target = match["target"].strip()
        step_id = ids.get(target) or names.get(target.casefold())
        if step_id is None:
            reader.problem(row, "next", f"there is no step {target!r} (use a step's id or name)")
            continue
        flow = Flow(
            probability=_probability(reader, row, match["probability"] or ""),
            rework=bool(match["rework"]),
            label=(match["label"] or "").strip()[:200],
        )
        found.append((step_id, flow))
    return found


def _process_settings(reader: _Reader, rows: list[_Row]) -> dict[str, object]:
    settings: dict[str, object] = {}
    for column in (
        "process_name",
        "process_perspective",
        "process_cases_per_year",
        "process_description",
    ):
        row = next((r for r in rows if r.get(column)), None)
        if row is None:
            continue
        if column == "process_perspective":
            settings[column] = reader.word(row, column, Perspective)
        elif column == "process_cases_per_year":
            settings[column] = reader.number(row, column, 0.0)
        else:
            settings[column] = row.get(column)
    return settings


def read_steps_csv(
    data: bytes,
    source: str = "",
    *,
    process_id: str = "",
    name: str = "",
    perspective: Perspective | None = None,
) -> Process:
    """The process a CSV step list describes; :class:`ModelError` naming every row at fault.

    ``name`` and ``perspective`` override the list's ``process_*`` columns; ``process_id``
    defaults to a slug of the name.
    """
    _header, rows = _read_rows(_decode(data, source), source)
    reader = _Reader(rows, source)
    settings = _process_settings(reader, rows)
    lanes, lane_of = _lanes(reader, rows)
    ids = _ids(reader, rows)
    steps = [
        _step(reader, row, step_id, lane_of.get(row.number))
        for row, step_id in zip(rows, ids, strict=True)
    ]
    by_id = {step_id: step_id for step_id in ids}
    by_name = {}
    for step in steps:
        by_name.setdefault(step.name.casefold(), step.id)
    flows: list[tuple[str, str, Flow]] = []
    sequential = not any(row.get("next") for row in rows)
    starts = [s for s in steps if s.kind is StepKind.START]
    ends = [s for s in steps if s.kind is StepKind.END]
    taken = set(ids)
    if not starts:
        start = Step(_free("start", taken), "Start", StepKind.START)
        flows.append((start.id, steps[0].id, Flow()))
        steps.insert(0, start)
    end_id = ends[0].id if len(ends) == 1 else ""
    if not ends:
        end = Step(_free("end", taken), "Done", StepKind.END)
        steps.append(end)
        end_id = end.id
    kinds = {step.id: step.kind for step in steps}
    for index, (row, step_id) in enumerate(zip(rows, ids, strict=True)):
        if kinds[step_id] is StepKind.END:
            if row.get("next"):
                reader.problem(row, "next", "an end step leads nowhere; leave 'next' empty")
            continue
        if sequential:
            target = ids[index + 1] if index + 1 < len(ids) else end_id
            if target:
                flows.append((step_id, target, Flow()))
            continue
        targets = _targets(reader, row, by_id, by_name)
        if not targets and not row.get("next"):
            if not end_id:
                reader.problem(
                    row, "next", "say where this step leads: the list has several end steps"
                )
                continue
            targets = [(end_id, Flow())]
        for target, flow in targets:
            flows.append((step_id, target, flow))
    if reader.problems:
        raise ModelError(reader.problems, source)
    chosen_name = (name or str(settings.get("process_name") or "")).strip() or "Imported steps"
    process = Process.build(
        process_id or slug(chosen_name, "steps"),
        steps,
        _unique_flows(flows),
        name=chosen_name[:200],
        perspective=perspective
        or settings.get("process_perspective")  # type: ignore[arg-type]
        or Perspective.EMPLOYEE_PROCESS,
        lanes=lanes,
        volume=float(settings.get("process_cases_per_year") or 0.0),  # type: ignore[arg-type]
        description=str(settings.get("process_description") or ""),
    )
    problems = check_process(process)
    if problems:
        rows_of = {step_id: row.number for row, step_id in zip(rows, ids, strict=True)}
        raise ModelError([_on_row(p, rows_of) for p in problems], source)
    return process


def _free(wanted: str, taken: set[str]) -> str:
    candidate, n = wanted, 1
    while candidate in taken:
        n += 1
        candidate = f"{wanted}-{n}"
    taken.add(candidate)
    return candidate


def _unique_flows(flows: Iterable[tuple[str, str, Flow]]) -> list[tuple[str, str, Flow]]:
    """One flow per pair of steps (a row naming a target twice keeps the first)."""
    seen: dict[tuple[str, str], tuple[str, str, Flow]] = {}
    for source, target, flow in flows:
        seen.setdefault((source, target), (source, target, flow))
    return list(seen.values())


def _on_row(problem: Problem, rows_of: dict[str, int]) -> Problem:
    """A validation problem pointed at the row of the step it is about."""
    match = re.search(r"\.(?:steps\[|flows\[)([^\]\s]+)", problem.path)
    if match and match.group(1) in rows_of:
        return Problem(f"row {rows_of[match.group(1)]} ({match.group(1)})", problem.message)
    return problem


# --- writing ----------------------------------------------------------------------------------
def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if value != int(value) or abs(value) >= 1e15 else str(int(value))


def _entry(target: str, flow: Flow) -> str:
    text = target
    if flow.probability is not None:
        text += f"={flow.probability:g}"
    if flow.label:
        label = flow.label.replace(")", "]").replace("(", "[").replace(LIST_SEPARATOR, ",")
        text += f" ({label})"
    if flow.rework:
        text += " rework"
    return text


def _cells(process: Process, step: Step, first: bool) -> list[str]:
    lane = process.lane(step.lane)
    values = {
        "id": step.id,
        "name": step.name,
        "kind": step.kind.value,
        "lane": lane.name if lane else "",
        "lane_id": lane.id if lane else (step.lane or ""),
        "lane_kind": lane.kind.value if lane else "",
        "lane_cost_per_hour": _number(lane.cost_per_hour) if lane else "",
        "lane_description": lane.description if lane else "",
        "layer": step.layer.value if step.layer else "",
        "touch_minutes": _number(step.touch_minutes),
        "wait_minutes": _number(step.wait_minutes),
        "cases_per_year": _number(step.volume),
        "value_class": step.value_class.value if step.value_class else "",
        "customer_value": str(step.customer_value),
        "business_value": str(step.business_value),
        "required_by": step.required_by,
        "pct_complete_accurate": _number(step.pct_complete_accurate),
        "waste": f"{LIST_SEPARATOR} ".join(w.value for w in step.waste),
        "systems": f"{LIST_SEPARATOR} ".join(step.systems),
        "inputs": f"{LIST_SEPARATOR} ".join(step.inputs),
        "outputs": f"{LIST_SEPARATOR} ".join(step.outputs),
        "customer_name": step.customer_name,
        "channel": step.channel,
        "description": step.description,
        "next": f"{LIST_SEPARATOR} ".join(
            _entry(target, data["flow"]) for target, data in process.graph.succ[step.id].items()
        ),
        "process_name": process.name if first else "",
        "process_perspective": process.perspective.value if first else "",
        "process_cases_per_year": _number(process.volume) if first else "",
        "process_description": process.description if first else "",
        "process_lanes": f"{LIST_SEPARATOR} ".join(lane.id for lane in process.lanes)
        if first
        else "",
    }
    return [neutralise(values[column]) for column in COLUMNS]


def write_steps_csv(process: Process, *, bom: bool = True) -> str:
    """The process as a CSV step list (with a UTF-8 byte order mark, so spreadsheets read the
    accents right); every cell is safe against formula injection."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for index, step in enumerate(process.steps()):
        writer.writerow(_cells(process, step, index == 0))
    return ("\ufeff" if bom else "") + out.getvalue()
