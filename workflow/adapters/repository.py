"""Rows to engine objects and back: versions as documents, flags and CES answers as signals.

A version's document is a one-process model in the YAML format without signals: flags and CES
answers are rows of their own and are put back on the steps when a process is analysed, so a
new version never loses them. Parsing a document is cached by its text; documents are
immutable, so a page that shows an unchanged process never parses it twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import model as engine
from workflow.adapters import tables as t
from workflow.errors import Problem
from workflow.vocabulary import FlagCategory, FlagSource, FlagStatus
from workflow.yaml_format import dumps_model, loads_draft

__all__ = [
    "ParsedVersion",
    "build_model",
    "current_version",
    "document_for",
    "find_process",
    "flag_to_engine",
    "org_processes",
    "parse_document",
    "signals_by_step",
    "version",
    "versions",
    "with_signals",
    "without_signals",
]


class ParsedVersion:
    """A version's process and the shape problems still to fix (empty when it is valid)."""

    __slots__ = ("name", "problems", "process")

    def __init__(self, process: engine.Process, problems: Sequence[Problem], name: str) -> None:
        self.process = process
        self.problems = tuple(problems)
        self.name = name

    @property
    def valid(self) -> bool:
        return not self.problems


def without_signals(process: engine.Process) -> engine.Process:
    graph = process.graph.copy()
    for node, step in process.graph.nodes(data="step"):
        if step.flags or step.ces:
            graph.nodes[node]["step"] = replace(step, flags=(), ces=())
    return process.with_graph(graph)


def document_for(process: engine.Process, model_name: str = "") -> str:
    """The YAML document a version stores: this process alone, without signals or links."""
    model = engine.ProcessModel(
        name=model_name or process.name, processes=(without_signals(process),)
    )
    return dumps_model(model)


@lru_cache(maxsize=512)
def parse_document(document: str) -> ParsedVersion:
    model, problems = loads_draft(document, "version")
    return ParsedVersion(model.processes[0], problems, model.name)


def find_process(session: Session, org_id: int, process_id: int) -> t.Process | None:
    """The process with this id in this organisation, or None (another organisation's id too)."""
    return session.scalar(
        select(t.Process).where(t.Process.id == process_id, t.Process.org_id == org_id)
    )


def org_processes(session: Session, org_id: int) -> list[t.Process]:
    return list(
        session.scalars(
            select(t.Process)
            .where(t.Process.org_id == org_id)
            .order_by(t.Process.perspective, func.lower(t.Process.name))
        )
    )


def version(session: Session, process: t.Process, number: int) -> t.ProcessVersion | None:
    return session.scalar(
        select(t.ProcessVersion).where(
            t.ProcessVersion.process_id == process.id, t.ProcessVersion.number == number
        )
    )


def current_version(session: Session, process: t.Process) -> t.ProcessVersion:
    found = version(session, process, process.current_version)
    if found is None:
        raise LookupError(f"process {process.id} has no version {process.current_version}")
    return found


def versions(session: Session, process: t.Process) -> list[t.ProcessVersion]:
    return list(
        session.scalars(
            select(t.ProcessVersion)
            .where(t.ProcessVersion.process_id == process.id)
            .order_by(t.ProcessVersion.number.desc())
        )
    )


def flag_to_engine(row: t.Flag, votes: int = 0) -> engine.Flag:
    return engine.Flag(
        source=FlagSource(row.source),
        category=FlagCategory(row.category),
        severity=row.severity,
        text=row.text,
        idea=row.idea,
        date=row.created_at.date(),
        status=FlagStatus(row.status),
        me_too=votes,
        anonymous=row.anonymous,
        id=str(row.id),
    )


def signals_by_step(
    session: Session, process_ids: Iterable[int]
) -> dict[int, dict[str, tuple[list[engine.Flag], list[engine.CesAnswer]]]]:
    """Flags (with their "me too" counts) and CES answers of these processes, by step."""
    ids = list(process_ids)
    found: dict[int, dict[str, tuple[list, list]]] = defaultdict(
        lambda: defaultdict(lambda: ([], []))
    )
    if not ids:
        return {}
    votes = dict(
        session.execute(
            select(t.FlagVote.flag_id, func.count())
            .join(t.Flag, t.Flag.id == t.FlagVote.flag_id)
            .where(t.Flag.process_id.in_(ids))
            .group_by(t.FlagVote.flag_id)
        ).all()
    )
    for row in session.scalars(
        select(t.Flag).where(t.Flag.process_id.in_(ids)).order_by(t.Flag.id)
    ):
        found[row.process_id][row.step_id][0].append(flag_to_engine(row, votes.get(row.id, 0)))
    for answer in session.scalars(
        select(t.CesAnswer)
        .where(t.CesAnswer.process_id.in_(ids), t.CesAnswer.step_id.is_not(None))
        .order_by(t.CesAnswer.id)
    ):
        found[answer.process_id][answer.step_id][1].append(
            engine.CesAnswer(answer.score, answer.scale, answer.created_at.date())
        )
    return {pid: dict(steps) for pid, steps in found.items()}


def with_signals(
    process: engine.Process, signals: dict[str, tuple[list[engine.Flag], list[engine.CesAnswer]]]
) -> engine.Process:
    """The process with these flags and CES answers on its steps (unknown steps are skipped)."""
    graph = process.graph.copy()
    for step_id, (flags, ces) in signals.items():
        if step_id in graph:
            step = graph.nodes[step_id]["step"]
            graph.nodes[step_id]["step"] = replace(step, flags=tuple(flags), ces=tuple(ces))
    return process.with_graph(graph)


def build_model(
    session: Session,
    org: t.Organisation,
    rows: Sequence[t.Process] | None = None,
    *,
    signals: bool = True,
) -> tuple[engine.ProcessModel, dict[str, t.Process]]:
    """The organisation's valid current processes as one model, with links and signals.

    Returns the model and the rows by engine process id. Processes whose current version
    still has shape problems are left out (they cannot be measured yet).
    """
    rows = list(rows) if rows is not None else org_processes(session, org.id)
    by_key: dict[str, t.Process] = {}
    processes: list[engine.Process] = []
    for row in rows:
        parsed = parse_document(current_version(session, row).document)
        if parsed.valid:
            by_key[parsed.process.id] = row
            processes.append(parsed.process)
    if signals:
        found = signals_by_step(session, [row.id for row in by_key.values()])
        processes = [with_signals(p, found.get(by_key[p.id].id, {})) for p in processes]
    by_id = {row.id: key for key, row in by_key.items()}
    steps = {p.id: set(p.graph) for p in processes}
    links = []
    for link in session.scalars(select(t.StepLink).where(t.StepLink.org_id == org.id)):
        journey, served = by_id.get(link.journey_id), by_id.get(link.process_id)
        if (
            journey
            and served
            and link.journey_step in steps[journey]
            and link.step in steps[served]
        ):
            links.append(engine.Link(journey, link.journey_step, served, link.step))
    model = engine.ProcessModel(name=org.name, processes=tuple(processes), links=tuple(links))
    return model, by_key
