"""Processes and their versions: create, save a new version, restore, import, export, delete.

Every save stores a whole new immutable version and renders its swimlane map once, so pages
that show the process never lay it out. A save names the version it started from; when that is
no longer the current one the save is refused (optimistic locking), never merged silently.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from workflow import model as engine
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.errors import ModelError
from workflow.render import Renderer, RenderError, process_map
from workflow.services import audit
from workflow.services.errors import InvalidInput as InvalidInputError
from workflow.services.errors import VersionConflict
from workflow.validate import ID_PATTERN, check_process
from workflow.vocabulary import Perspective, StepKind
from workflow.yaml_format import MAX_FILE_BYTES, dumps_model, loads_model

__all__ = [
    "StepUrl",
    "create_process",
    "delete_process",
    "export_organisation",
    "export_process",
    "import_model",
    "rename_step_references",
    "render_map",
    "restore_version",
    "save_version",
    "set_links",
]

#: Builds the link a diagram's step opens: ``(process row id, step id) -> relative URL``.
StepUrl = Callable[[int, str], str]


def _no_link(_process_id: int, _step_id: str) -> str:
    return ""


def render_map(
    process: engine.Process, row_id: int, renderer: Renderer | None, step_url: StepUrl
) -> str | None:
    """The process's swimlane map as SVG text, or None when it cannot be drawn."""
    if renderer is None:
        return None
    try:
        diagram = process_map(process, link=lambda _p, step: step_url(row_id, step))
        return renderer.render(diagram, "svg").data.decode("utf-8")
    except (RenderError, ValueError, KeyError):
        return None


def _starter(key: str, name: str, perspective: Perspective) -> engine.Process:
    steps = [
        engine.Step("start", "Start", StepKind.START),
        engine.Step("end", "Done", StepKind.END),
    ]
    return engine.Process.build(key, steps, [("start", "end")], name=name, perspective=perspective)


def _check_key(session: Session, org_id: int, key: str, field: str = "key") -> None:
    if not ID_PATTERN.match(key):
        raise InvalidInputError(
            "Use letters, digits, '.', '_' or '-' (starting with a letter or digit, "
            "at most 100 characters).",
            field,
        )
    taken = session.scalar(
        select(t.Process.id).where(t.Process.org_id == org_id, t.Process.key == key)
    )
    if taken:
        raise InvalidInputError("Another process of your organisation already has this id.", field)


def create_process(
    session: Session,
    org_id: int,
    author_id: int | None,
    *,
    key: str,
    name: str,
    perspective: Perspective,
    renderer: Renderer | None = None,
    step_url: StepUrl = _no_link,
    process: engine.Process | None = None,
    summary: str = "Created",
) -> t.Process:
    """A new process at version 1: ``process`` when given, else a start joined to an end."""
    name = name.strip()
    if not name:
        raise InvalidInputError("Give the process a name.", "name")
    _check_key(session, org_id, key)
    content = process or _starter(key, name, perspective)
    row = t.Process(
        org_id=org_id,
        key=key,
        name=name[:200],
        perspective=perspective.value,
        current_version=0,
        public_token=(
            secrets.token_urlsafe(16) if perspective is Perspective.CUSTOMER_JOURNEY else None
        ),
    )
    session.add(row)
    session.flush()
    save_version(
        session,
        row,
        content,
        author_id=author_id,
        summary=summary,
        base_version=0,
        renderer=renderer,
        step_url=step_url,
        audit_action="process.created",
    )
    return row


def save_version(
    session: Session,
    row: t.Process,
    process: engine.Process,
    *,
    author_id: int | None,
    summary: str,
    base_version: int,
    renderer: Renderer | None = None,
    step_url: StepUrl = _no_link,
    audit_action: str = "process.version_saved",
    audit_details: Mapping[str, object] | None = None,
) -> t.ProcessVersion:
    """Store ``process`` as the next version of ``row``.

    Raises :class:`VersionConflict` when ``base_version`` is not the current version. The
    process id inside the document always stays the row's key. The audit trail records the
    save as ``audit_action`` (a creation, a restore and an applied proposal are saves too),
    with ``audit_details`` added to the version numbers.
    """
    if base_version != row.current_version:
        raise VersionConflict(base_version, row.current_version)
    if process.id != row.key:
        process = replace(process, id=row.key)
    document = repo.document_for(process)
    parsed = repo.parse_document(document)
    problems = [str(p) for p in check_process(parsed.process)]
    number = row.current_version + 1
    saved = t.ProcessVersion(
        process_id=row.id,
        number=number,
        document=document,
        summary=summary[:500],
        problems="\n".join(problems),
        author_id=author_id,
        map_svg=render_map(parsed.process, row.id, renderer, step_url),
    )
    session.add(saved)
    row.current_version = number
    row.name = process.name[:200] or row.name
    row.perspective = process.perspective.value
    row.updated_at = t.utcnow()
    if process.perspective is Perspective.CUSTOMER_JOURNEY and not row.public_token:
        row.public_token = secrets.token_urlsafe(16)
    session.flush()
    audit.record(
        session,
        org_id=row.org_id,
        actor_id=author_id,
        action=audit_action,
        subject_kind="process",
        subject_id=row.id,
        process_id=row.id,
        summary=f"{row.name}, version {number}: {saved.summary}",
        details={"version": number, "base_version": base_version, **(audit_details or {})},
    )
    return saved


def restore_version(
    session: Session,
    row: t.Process,
    number: int,
    *,
    author_id: int | None,
    base_version: int,
    renderer: Renderer | None = None,
    step_url: StepUrl = _no_link,
) -> t.ProcessVersion:
    """A new version with the content of version ``number`` (history is never rewritten)."""
    old = repo.version(session, row, number)
    if old is None:
        raise InvalidInputError(f"There is no version {number} of this process.", "version")
    process = repo.parse_document(old.document).process
    return save_version(
        session,
        row,
        process,
        author_id=author_id,
        summary=f"Restored version {number}",
        base_version=base_version,
        renderer=renderer,
        step_url=step_url,
        audit_action="process.version_restored",
        audit_details={"restored": number},
    )


def rename_step_references(session: Session, row: t.Process, old_id: str, new_id: str) -> None:
    """Keep flags, CES answers and blueprint links on a step whose id an owner changed.

    Call it in the same transaction as the save that renames the step.
    """
    if old_id == new_id:
        return
    session.execute(
        update(t.Flag)
        .where(t.Flag.process_id == row.id, t.Flag.step_id == old_id)
        .values(step_id=new_id)
    )
    session.execute(
        update(t.CesAnswer)
        .where(t.CesAnswer.process_id == row.id, t.CesAnswer.step_id == old_id)
        .values(step_id=new_id)
    )
    session.execute(
        update(t.StepLink)
        .where(t.StepLink.journey_id == row.id, t.StepLink.journey_step == old_id)
        .values(journey_step=new_id)
    )
    session.execute(
        update(t.StepLink)
        .where(t.StepLink.process_id == row.id, t.StepLink.step == old_id)
        .values(step=new_id)
    )
    row.signals_revision += 1


def delete_process(session: Session, row: t.Process, *, actor_id: int | None) -> None:
    """Remove the process with its versions, links and signals (the caller has confirmed).

    Its audit events stay; they lose their process id, and the deletion's event names it.
    """
    audit.record(
        session,
        org_id=row.org_id,
        actor_id=actor_id,
        action="process.deleted",
        subject_kind="process",
        subject_id=row.id,
        summary=f"Deleted {row.name} ({row.key}) at version {row.current_version}",
        details={"key": row.key, "name": row.name, "version": row.current_version},
    )
    session.execute(delete(t.StepLink).where(t.StepLink.journey_id == row.id))
    session.execute(delete(t.StepLink).where(t.StepLink.process_id == row.id))
    session.delete(row)
    session.flush()


def set_links(
    session: Session,
    journey: t.Process,
    journey_step: str,
    served: list[tuple[t.Process, str]],
    *,
    actor_id: int | None,
) -> None:
    """Replace the employee steps that serve one journey step."""
    session.execute(
        delete(t.StepLink).where(
            t.StepLink.journey_id == journey.id, t.StepLink.journey_step == journey_step
        )
    )
    for process, step in dict.fromkeys(served):
        session.add(
            t.StepLink(
                org_id=journey.org_id,
                journey_id=journey.id,
                journey_step=journey_step,
                process_id=process.id,
                step=step,
            )
        )
    session.flush()
    chosen = [f"{process.key}:{step}" for process, step in dict.fromkeys(served)]
    audit.record(
        session,
        org_id=journey.org_id,
        actor_id=actor_id,
        action="process.links_saved",
        subject_kind="step",
        subject_id=journey_step,
        process_id=journey.id,
        summary=f"{journey.name}: step {journey_step} is served by {len(chosen)} step(s)",
        details={"step": journey_step, "served": chosen},
    )


def _given_at(day: dt.date | None) -> dt.datetime:
    """When an imported signal was given: its day at the current time of day, else now."""
    now = t.utcnow()
    return now if day is None else now.replace(year=day.year, month=day.month, day=day.day)


def _flag_rows(org_id: int, row: t.Process, process: engine.Process) -> list[t.Flag]:
    rows = []
    for step in process.steps():
        for flag in step.flags:
            rows.append(
                t.Flag(
                    org_id=org_id,
                    process_id=row.id,
                    step_id=step.id,
                    step_name=step.name[:200],
                    source=flag.source.value,
                    category=flag.category.value,
                    severity=flag.severity,
                    text=flag.text,
                    idea=flag.idea,
                    status=flag.status.value,
                    anonymous=flag.anonymous,
                    created_at=_given_at(flag.date),
                )
            )
    return rows


def _ces_rows(org_id: int, row: t.Process, process: engine.Process) -> list[t.CesAnswer]:
    rows = []
    for step in process.steps():
        for answer in step.ces:
            rows.append(
                t.CesAnswer(
                    org_id=org_id,
                    process_id=row.id,
                    step_id=step.id,
                    score=answer.score,
                    scale=answer.scale,
                    created_at=_given_at(answer.date),
                )
            )
    return rows


def import_model(
    session: Session,
    org_id: int,
    author_id: int | None,
    text: str,
    *,
    source: str = "upload",
    renderer: Renderer | None = None,
    step_url: StepUrl = _no_link,
) -> list[t.Process]:
    """Processes of a YAML model file: new ones are created, known ids get a new version.

    The whole file is checked before anything is stored. Flags and CES answers in the file
    become signals (their authors unknown, so shown as anonymous); links between processes of
    the file replace the links of its journeys.
    """
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise InvalidInputError(
            f"The file is larger than the {MAX_FILE_BYTES // 1024**2} MiB limit.", "file"
        )
    try:
        model = loads_model(text, source)
    except ModelError as exc:
        raise InvalidInputError(
            "The file is not a valid Leanlane model.", "file", problems=exc.lines()
        ) from None
    rows: dict[str, t.Process] = {}
    for process in model.processes:
        row = session.scalar(
            select(t.Process).where(t.Process.org_id == org_id, t.Process.key == process.id)
        )
        if row is None:
            row = create_process(
                session,
                org_id,
                author_id,
                key=process.id,
                name=process.name or process.id,
                perspective=process.perspective,
                renderer=renderer,
                step_url=step_url,
                process=process,
                summary=f"Imported from {source}",
            )
        else:
            save_version(
                session,
                row,
                process,
                author_id=author_id,
                summary=f"Imported from {source}",
                base_version=row.current_version,
                renderer=renderer,
                step_url=step_url,
            )
        session.add_all(_flag_rows(org_id, row, process))
        session.add_all(_ces_rows(org_id, row, process))
        rows[process.id] = row
    journeys = {link.journey for link in model.links}
    for journey in journeys:
        session.execute(delete(t.StepLink).where(t.StepLink.journey_id == rows[journey].id))
    for link in model.links:
        session.add(
            t.StepLink(
                org_id=org_id,
                journey_id=rows[link.journey].id,
                journey_step=link.journey_step,
                process_id=rows[link.process].id,
                step=link.step,
            )
        )
    session.flush()
    return list(rows.values())


def export_process(session: Session, row: t.Process, number: int | None = None) -> str:
    """One version (the current one by default) as a YAML model file."""
    found = repo.version(session, row, number or row.current_version)
    if found is None:
        raise InvalidInputError(f"There is no version {number} of this process.", "version")
    return found.document


def export_organisation(session: Session, org: t.Organisation) -> str:
    """Every valid current process of the organisation with the links between them."""
    model, _ = repo.build_model(session, org, signals=False)
    return dumps_model(model)
