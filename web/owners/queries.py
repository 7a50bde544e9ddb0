"""Read-only lookups the owner pages show beside the process: links, members, history, and what
deleting a process would lose. Each query is scoped to the process's organisation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.services.paging import PageLinks, window

__all__ = [
    "HISTORY_PAGE_SIZE",
    "DeleteImpact",
    "HistoryPage",
    "delete_impact",
    "employee_steps",
    "history_page",
    "journey_links",
    "members",
    "selectable_people",
    "serves",
]

HISTORY_PAGE_SIZE = 20


@dataclass(frozen=True)
class HistoryPage(PageLinks):
    versions: list[t.ProcessVersion]
    authors: dict[int, str]
    page: int
    pages: int
    total: int


def history_page(session: Session, row: t.Process, page: int) -> HistoryPage:
    """One page of versions, newest first, with their authors' names."""
    total = session.scalar(select(func.count()).where(t.ProcessVersion.process_id == row.id)) or 0
    page, pages = window(page, total, HISTORY_PAGE_SIZE)
    versions = list(
        session.scalars(
            select(t.ProcessVersion)
            .where(t.ProcessVersion.process_id == row.id)
            .order_by(t.ProcessVersion.number.desc())
            .offset((page - 1) * HISTORY_PAGE_SIZE)
            .limit(HISTORY_PAGE_SIZE)
        )
    )
    ids = {v.author_id for v in versions if v.author_id}
    authors = dict(
        session.execute(select(t.User.id, t.User.name).where(t.User.id.in_(ids))).all()
        if ids
        else []
    )
    return HistoryPage(versions, authors, page, pages, total)


def employee_steps(session: Session, org_id: int) -> list[tuple[t.Process, list[tuple[str, str]]]]:
    """Each employee process of the organisation with its current (id, name) steps."""
    found = []
    for row in repo.org_processes(session, org_id):
        if row.perspective == "customer_journey":
            continue
        process = repo.parse_document(repo.current_version(session, row).document).process
        found.append((row, [(step.id, step.name) for step in process.steps()]))
    return found


def _step_names(session: Session, rows: list[t.Process]) -> dict[int, dict[str, str]]:
    names = {}
    for row in rows:
        process = repo.parse_document(repo.current_version(session, row).document).process
        names[row.id] = {step.id: step.name for step in process.steps()}
    return names


def journey_links(session: Session, journey: t.Process) -> dict[str, list[dict]]:
    """The employee steps serving each journey step: ``{journey step: [link words]}``."""
    links = list(
        session.scalars(
            select(t.StepLink)
            .where(t.StepLink.journey_id == journey.id, t.StepLink.org_id == journey.org_id)
            .order_by(t.StepLink.id)
        )
    )
    rows = {
        row.id: row
        for row in session.scalars(
            select(t.Process).where(t.Process.id.in_({link.process_id for link in links}))
        )
    }
    names = _step_names(session, list(rows.values()))
    found: dict[str, list[dict]] = {}
    for link in links:
        row = rows.get(link.process_id)
        if row is None:
            continue
        found.setdefault(link.journey_step, []).append(
            {
                "process": row,
                "step": link.step,
                "step_name": names[row.id].get(link.step),
                "value": f"{row.id}:{link.step}",
            }
        )
    return found


def serves(session: Session, row: t.Process) -> dict[str, list[str]]:
    """For an employee process: the journey steps each of its steps serves, in words."""
    links = list(session.scalars(select(t.StepLink).where(t.StepLink.process_id == row.id)))
    journeys = {
        j.id: j
        for j in session.scalars(
            select(t.Process).where(t.Process.id.in_({link.journey_id for link in links}))
        )
    }
    names = _step_names(session, list(journeys.values()))
    found: dict[str, list[str]] = {}
    for link in links:
        journey = journeys.get(link.journey_id)
        if journey is not None:
            step_name = names[journey.id].get(link.journey_step, link.journey_step)
            found.setdefault(link.step, []).append(f"{journey.name}: {step_name}")
    return found


def members(session: Session, row: t.Process) -> list[t.User]:
    return list(
        session.scalars(
            select(t.User)
            .join(t.ProcessMember, t.ProcessMember.user_id == t.User.id)
            .where(t.ProcessMember.process_id == row.id, t.User.org_id == row.org_id)
            .order_by(func.lower(t.User.name))
        )
    )


def selectable_people(session: Session, row: t.Process) -> list[t.User]:
    """Active people of the organisation who are not yet members, staff first."""
    taken = select(t.ProcessMember.user_id).where(t.ProcessMember.process_id == row.id)
    people = session.scalars(
        select(t.User)
        .where(t.User.org_id == row.org_id, t.User.active.is_(True), t.User.id.not_in(taken))
        .order_by(func.lower(t.User.name))
    )
    return sorted(people, key=lambda user: user.role != "staff")


@dataclass(frozen=True)
class DeleteImpact:
    versions: int
    flags: int
    ces_answers: int
    links: int
    reviews: int
    members: int


def delete_impact(session: Session, row: t.Process) -> DeleteImpact:
    """How much goes with the process when it is deleted, to say so before it happens."""

    def count(table, *conditions) -> int:
        return session.scalar(select(func.count()).select_from(table).where(*conditions)) or 0

    return DeleteImpact(
        versions=count(t.ProcessVersion, t.ProcessVersion.process_id == row.id),
        flags=count(t.Flag, t.Flag.process_id == row.id),
        ces_answers=count(t.CesAnswer, t.CesAnswer.process_id == row.id),
        links=count(
            t.StepLink, (t.StepLink.journey_id == row.id) | (t.StepLink.process_id == row.id)
        ),
        reviews=count(t.ProposalReview, t.ProposalReview.process_id == row.id),
        members=count(t.ProcessMember, t.ProcessMember.process_id == row.id),
    )
