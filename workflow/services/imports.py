"""Imports that run as jobs: a BPMN file, an event log, a CSV step list -> new processes.

Each kind reads the uploaded file with its importer in :mod:`workflow.interchange` (which
refuses hostile and broken files with a message naming what is wrong), then stores the result
through :func:`workflow.services.processes.import_model`, so versions, maps, flags and links
are made exactly as for a YAML import. An import never changes an existing process: a process
whose id is taken in the organisation gets a free one (``claims-2``). Everything is stored in
the job's one transaction, so a failure leaves nothing behind.

The web app asks :func:`detect_kind` what a file is and, for a CSV event log,
:func:`preview_event_log` for the column-mapping step.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.adapters import tables as t
from workflow.errors import ModelError
from workflow.interchange.eventlog import (
    ACTIVITY,
    CASE,
    RESOURCE,
    ROLE,
    START,
    TIME,
    EventLogError,
)
from workflow.interchange.eventlog_columns import KNOWN_NAMES
from workflow.interchange.steps_csv import looks_like_step_list, read_steps_csv
from workflow.interchange.to_process import slug
from workflow.model import Link, ProcessModel
from workflow.services import processes
from workflow.services.errors import InvalidInput
from workflow.services.jobs import (
    JobFailed,
    Runner,
    Work,
    discard_abandoned,
    job_kind,
    params_of,
    start,
    submit,
)
from workflow.services.stale_jobs import drop_kept_files
from workflow.vocabulary import Perspective

__all__ = [
    "BPMN",
    "COLUMN_PURPOSES",
    "EVENT_LOG",
    "KINDS",
    "MAX_EVENT_LOG_BYTES",
    "MAX_XML_BYTES_UNPACKED",
    "STEPS_CSV",
    "LogPreview",
    "awaits_options",
    "begin_import",
    "choose_log_options",
    "detect_kind",
    "event_log_format",
    "export_steps",
    "free_keys",
    "import_bpmn_file",
    "import_event_log",
    "import_steps_csv",
    "log_preview",
    "preview_event_log",
    "recent_jobs",
]

BPMN = "bpmn"
EVENT_LOG = "event_log"
STEPS_CSV = "steps_csv"
KINDS = {
    BPMN: "BPMN 2.0 file",
    EVENT_LOG: "Event log (CSV, XES or XES.gz)",
    STEPS_CSV: "CSV step list",
}
#: Event logs uploaded through the web app (larger ones: ``leanlane discover`` on the server).
MAX_EVENT_LOG_BYTES = 100 * 1024**2
#: The most XML a compressed XES upload may unpack to.
MAX_XML_BYTES_UNPACKED = 1024**3
#: Column purposes of an event log, in the order a form asks for them, with their labels.
COLUMN_PURPOSES = {
    CASE: "Case id",
    ACTIVITY: "Activity",
    TIME: "Timestamp (when it was done)",
    START: "Start timestamp",
    RESOURCE: "Resource (who did it)",
    ROLE: "Role",
}
REQUIRED_PURPOSES = (CASE, ACTIVITY, TIME)
MAX_PROBLEMS_SHOWN = 50
GZIP_MAGIC = b"\x1f\x8b"


# --- what a file is -------------------------------------------------------------------------
def detect_kind(filename: str, head: bytes) -> str | None:
    """The import kind a file is, from its name and first bytes; None if it cannot be told."""
    name = filename.lower()
    if name.endswith(".bpmn"):
        return BPMN
    if name.endswith((".xes", ".xes.gz")) or head.startswith(GZIP_MAGIC):
        return EVENT_LOG
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return EVENT_LOG if b"<log" in head[:4096] and b"definitions" not in head[:4096] else BPMN
    if name.endswith((".csv", ".tsv", ".txt")) or b"," in head or b";" in head:
        return STEPS_CSV if looks_like_step_list(head) else EVENT_LOG
    return None


def event_log_format(filename: str, head: bytes) -> str:
    """``xes`` or ``csv``."""
    name = filename.lower()
    if name.endswith((".xes", ".xes.gz")) or head.startswith(GZIP_MAGIC):
        return "xes"
    return "xes" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") else "csv"


@dataclass(frozen=True)
class LogPreview:
    """The first rows of a CSV event log and the columns guessed for each purpose."""

    header: list[str]
    rows: list[list[str]]
    guesses: dict[str, str]
    separator: str


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def _guess_columns(header: Sequence[str]) -> dict[str, str]:
    keys = [_key(h) for h in header]
    used: set[int] = set()
    guesses: dict[str, str] = {}
    for purpose, names in KNOWN_NAMES.items():
        for candidate in names:
            match = next(
                (i for i, k in enumerate(keys) if k == _key(candidate) and i not in used), None
            )
            if match is not None:
                guesses[purpose] = header[match]
                used.add(match)
                break
    return guesses


def preview_event_log(head: bytes, filename: str, rows: int = 8) -> LogPreview:
    """The header and first ``rows`` rows of a CSV log from its first bytes, with guesses."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    if not head.strip():
        raise InvalidInput(f"{filename} is empty.", "file")
    if b"\x00" in head[:4096]:
        raise InvalidInput(f"{filename} is not a text file in UTF-8.", "file")
    text = head.decode("utf-8", "replace")
    lines = text.splitlines()
    if len(head) >= 4096 and not text.endswith("\n") and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle
    first = lines[0] if lines else ""
    separator = max(
        (",", ";", "\t", "|"),
        key=lambda s: len(next(csv.reader([first], delimiter=s), [])),
    )
    reader = csv.reader(io.StringIO("\n".join(lines[: rows + 1])), delimiter=separator)
    try:
        table = [[cell[:200] for cell in row] for row in reader]
    except csv.Error as exc:
        raise InvalidInput(
            f"{filename} is not a CSV file that can be read: {exc}.", "file"
        ) from None
    header = [h.strip() for h in table[0]] if table else []
    if len(header) < 3:
        raise InvalidInput(
            f"{filename}: the first line should be a header with at least a case, an activity "
            f"and a timestamp column; found {len(header)} column(s).",
            "file",
        )
    return LogPreview(header, table[1:], _guess_columns(header), separator)


# --- storing --------------------------------------------------------------------------------
def free_keys(taken: Iterable[str], wanted: Iterable[str]) -> dict[str, str]:
    """A free process id for each wanted one: itself, else ``id-2``, ``id-3``, ..."""
    used = set(taken)
    chosen: dict[str, str] = {}
    for key in wanted:
        base, candidate, n = key[:90], key, 1
        while candidate in used:
            n += 1
            candidate = f"{base}-{n}"
        used.add(candidate)
        chosen[key] = candidate
    return chosen


def _with_free_ids(work: Work, model: ProcessModel) -> ProcessModel:
    taken = work.session.scalars(select(t.Process.key).where(t.Process.org_id == work.org_id))
    keys = free_keys(taken, [p.id for p in model.processes])
    return ProcessModel(
        model.name,
        tuple(replace(p, id=keys[p.id]) for p in model.processes),
        tuple(
            Link(keys[link.journey], link.journey_step, keys[link.process], link.step)
            for link in model.links
        ),
        model.description,
    )


def _store(work: Work, model: ProcessModel, source: str) -> list[dict[str, Any]]:
    from workflow.yaml_format import dumps_model

    work.progress(0.9, f"Saving {len(model.processes)} process(es) and drawing their maps")
    model = _with_free_ids(work, model)
    try:
        rows = processes.import_model(
            work.session,
            work.org_id,
            work.user_id,
            dumps_model(model),
            source=source,
            renderer=work.context.renderer,
            step_url=work.context.step_url,
        )
    except InvalidInput as exc:
        raise JobFailed(str(exc), exc.problems[:MAX_PROBLEMS_SHOWN]) from None
    return [{"id": row.id, "key": row.key, "name": row.name} for row in rows]


def _refused(filename: str, exc: ModelError) -> JobFailed:
    lines = [line.replace(exc.source, filename, 1) if exc.source else line for line in exc.lines()]
    more = len(lines) - MAX_PROBLEMS_SHOWN
    shown = lines[:MAX_PROBLEMS_SHOWN] + ([f"... and {more} more"] if more > 0 else [])
    return JobFailed(f"{filename} could not be imported: {lines[0]}", shown)


def _filename(work: Work) -> str:
    return str(work.params.get("filename") or "upload")[:200]


# --- the kinds --------------------------------------------------------------------------------
@job_kind(BPMN)
def import_bpmn_file(work: Work) -> dict[str, Any]:
    """A BPMN 2.0 file -> one process per pool (and per expanded sub-process)."""
    from workflow.interchange.bpmn_import import import_bpmn

    filename = _filename(work)
    work.progress(0.1, f"Reading {filename}")
    data = work.payload()
    try:
        imported = import_bpmn(data, filename, name=Path(filename).stem)
    except ModelError as exc:
        raise _refused(filename, exc) from None
    counts = imported.counts
    work.progress(
        0.6,
        f"Read {counts.flow_nodes} flow nodes and {counts.sequence_flows} sequence flows in "
        f"{counts.pools or 1} pool(s)",
    )
    stored = _store(work, imported.model, filename)
    return {
        "processes": stored,
        "warnings": list(imported.warnings),
        "summary": f"{filename}: {counts.flow_nodes} flow nodes, {counts.sequence_flows} "
        f"sequence flows, {counts.lanes} lanes, {counts.pools} pools, {counts.message_flows} "
        "message flows",
    }


@job_kind(STEPS_CSV)
def import_steps_csv(work: Work) -> dict[str, Any]:
    """A CSV step list -> one process."""
    filename = _filename(work)
    work.progress(0.1, f"Reading {filename}")
    data = work.payload()
    perspective = work.params.get("perspective")
    try:
        process = read_steps_csv(
            data,
            filename,
            name=str(work.params.get("name") or "").strip() or "",
            perspective=Perspective(perspective) if perspective else None,
        )
    except ModelError as exc:
        raise _refused(filename, exc) from None
    if process.name == "Imported steps" and not work.params.get("name"):
        process = replace(process, name=Path(filename).stem[:200] or process.name)
        process = replace(process, id=slug(process.name, "steps"))
    work.progress(0.6, f"Read {len(process)} steps")
    stored = _store(work, ProcessModel(process.name, (process,)), filename)
    return {
        "processes": stored,
        "warnings": [],
        "summary": f"{filename}: {len(process)} steps, {process.graph.number_of_edges()} flows, "
        f"{len(process.lanes)} lanes",
    }


def _read_log(path: Path, params: dict[str, Any]):
    columns = {
        purpose: params.get("columns", {}).get(purpose) or None for purpose in COLUMN_PURPOSES
    }
    fmt = params.get("timestamp_format") or None
    if params.get("format") == "xes":
        from workflow.interchange.eventlog_xes import read_xes_log

        return read_xes_log(path, columns, timestamp_format=fmt, max_bytes=MAX_XML_BYTES_UNPACKED)
    from workflow.interchange.eventlog_csv import read_csv_log

    return read_csv_log(path, columns, timestamp_format=fmt, max_bytes=MAX_EVENT_LOG_BYTES)


@job_kind(EVENT_LOG)
def import_event_log(work: Work) -> dict[str, Any]:
    """An event log -> the process its main variants follow (see ``docs/DISCOVERY.md``)."""
    from workflow.interchange.discovery import discover
    from workflow.interchange.discovery_filter import keep_main_variants
    from workflow.interchange.to_process import facts_to_model

    filename = _filename(work)
    keep = float(work.params.get("keep") or 0.8)
    name = str(work.params.get("name") or "").strip() or _display_name(filename)
    work.progress(0.05, f"Reading {filename}")
    suffix = ".xes" if work.params.get("format") == "xes" else ".csv"
    with tempfile.TemporaryDirectory(prefix="leanlane-log-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(work.payload())
        try:
            log = _read_log(path, work.params)
            work.progress(0.45, f"Read {log.frame.height:,} events; finding the main paths")
            whole = discover(log)
            kept = keep_main_variants(log, keep)
            work.progress(0.7, f"{kept.variants_kept} of {kept.variants} variants kept; mapping")
            facts = discover(kept.log)
        except EventLogError as exc:
            message = str(exc).replace(str(path), filename)
            raise JobFailed(f"{filename} could not be imported: {message}") from None
    span = (
        f" from {whole.first:%Y-%m-%d} to {whole.last:%Y-%m-%d}"
        if whole.first and whole.last
        else ""
    )
    summary = (
        f"Discovered from {filename}: {whole.events:,} events in {whole.cases:,} cases{span}. "
        f"The {kept.variants_kept:,} most frequent of {kept.variants:,} variants cover "
        f"{kept.share:.0%} of the cases (keep {keep:.0%}) and make this map."
    )
    try:
        model = facts_to_model(
            facts, whole, name=name, summary=summary, has_start_times=log.has_start
        )
    except ModelError as exc:
        raise _refused(filename, exc) from None
    stored = _store(work, model, filename)
    warnings = []
    if not log.has_start:
        warnings.append(
            "The log has no start timestamps, so touch times are 0 and wait times include the "
            "work itself. Map a start timestamp column to get touch times."
        )
    return {
        "processes": stored,
        "warnings": warnings,
        "summary": summary,
        "columns": dict(log.columns),
    }


def _display_name(filename: str) -> str:
    name = filename
    for suffix in (".gz", ".xes", ".csv", ".tsv", ".txt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "Discovered process"


# --- what the web app calls -------------------------------------------------------------------
#: Largest upload of each kind, checked before the file is stored.
LIMITS = {
    BPMN: 10 * 1024**2,
    STEPS_CSV: 5 * 1024**2,
    EVENT_LOG: MAX_EVENT_LOG_BYTES,
}
PREVIEW_BYTES = 64 * 1024
AWAITING_OPTIONS = "options"


def _mib(size: int) -> str:
    return f"{size / 1024**2:,.0f} MiB"


def begin_import(
    session: Session,
    runner: Runner,
    *,
    org_id: int,
    user_id: int | None,
    filename: str,
    data: bytes,
    kind: str | None = None,
    name: str = "",
    perspective: str = "",
) -> t.Job:
    """Record an uploaded file as an import job.

    BPMN files and step lists start as soon as ``session`` commits; an event log waits for its
    options (columns, share of cases to keep) in :func:`choose_log_options`. Raises
    :class:`InvalidInput` naming the form field at fault.
    """
    filename = Path(filename.replace("\\", "/")).name[:200] or "upload"
    if not data:
        raise InvalidInput(f"{filename} is empty.", "file")
    kind = kind or detect_kind(filename, data[:PREVIEW_BYTES])
    if kind not in KINDS:
        raise InvalidInput(
            f"Cannot tell what {filename} is from its name and content; choose its kind.", "kind"
        )
    if len(data) > LIMITS[kind]:
        raise InvalidInput(
            f"{filename} is larger than {_mib(LIMITS[kind])}; a {KINDS[kind]} may be at "
            f"most {_mib(LIMITS[kind])}.",
            "file",
        )
    if perspective and perspective not in {p.value for p in Perspective}:
        raise InvalidInput("Choose a perspective from the list.", "perspective")
    discard_abandoned(session, org_id)
    drop_kept_files(session, org_id=org_id)
    params: dict[str, Any] = {"filename": filename, "name": name.strip()[:200]}
    if kind == STEPS_CSV and perspective:
        params["perspective"] = perspective
    if kind != EVENT_LOG:
        return submit(
            session,
            runner,
            org_id=org_id,
            user_id=user_id,
            kind=kind,
            params=params,
            payload=data,
        )
    params["format"] = event_log_format(filename, data[:PREVIEW_BYTES])
    if params["format"] == "csv":
        preview_event_log(data[:PREVIEW_BYTES], filename)
    params["awaiting"] = AWAITING_OPTIONS
    return submit(
        session,
        None,
        org_id=org_id,
        user_id=user_id,
        kind=kind,
        params=params,
        payload=data,
        message="Waiting for you to choose the columns and the share of cases to keep",
    )


def awaits_options(job: t.Job) -> bool:
    return job.status == "queued" and params_of(job).get("awaiting") == AWAITING_OPTIONS


def log_preview(session: Session, job: t.Job) -> LogPreview | None:
    """The first rows of a waiting CSV event log, read from the stored file's first bytes."""
    params = params_of(job)
    if params.get("format") != "csv":
        return None
    head = session.scalar(
        select(func.substr(t.Job.payload, 1, PREVIEW_BYTES)).where(t.Job.id == job.id)
    )
    return preview_event_log(bytes(head or b""), params.get("filename", "upload"))


def choose_log_options(
    session: Session,
    runner: Runner,
    job: t.Job,
    *,
    columns: dict[str, str | None],
    keep: float,
    name: str = "",
    timestamp_format: str = "",
) -> t.Job:
    """Start a waiting event-log import with the columns and share of cases chosen."""
    if not awaits_options(job):
        raise InvalidInput("This import has already started.", "")
    params = params_of(job)
    if params.get("format") == "csv":
        for purpose in REQUIRED_PURPOSES:
            if not columns.get(purpose):
                raise InvalidInput(
                    f"Choose the {COLUMN_PURPOSES[purpose].lower()} column.", purpose
                )
        chosen = [c for c in columns.values() if c]
        for purpose, column in columns.items():
            if column and chosen.count(column) > 1:
                raise InvalidInput(f"The column {column!r} is chosen twice.", purpose)
        params["columns"] = {p: c for p, c in columns.items() if c}
    if not 0 < keep <= 1:
        raise InvalidInput("Keep between 1% and 100% of the cases.", "keep")
    params.pop("awaiting", None)
    params["keep"] = keep
    params["timestamp_format"] = timestamp_format.strip()[:100]
    if name.strip():
        params["name"] = name.strip()[:200]
    return start(session, runner, job, params)


def recent_jobs(session: Session, org_id: int, limit: int = 10) -> list[t.Job]:
    """The organisation's latest imports, newest first."""
    return list(
        session.scalars(
            select(t.Job)
            .where(t.Job.org_id == org_id)
            .order_by(t.Job.created_at.desc(), t.Job.id.desc())
            .limit(limit)
        )
    )


def export_steps(session: Session, row: t.Process) -> str:
    """The current version of a process as a CSV step list."""
    from workflow.adapters import repository as repo
    from workflow.interchange.steps_csv import write_steps_csv

    version = repo.current_version(session, row)
    return write_steps_csv(repo.parse_document(version.document).process)
