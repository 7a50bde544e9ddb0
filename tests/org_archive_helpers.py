"""A rich organisation with a row in every archived table, and archives compared regardless of
row ids and the organisation's name."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import MODELS
from web import rendering
from workflow.adapters import org_tables
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.adapters.database import make_engine, make_session_factory, transaction, upgrade
from workflow.services import (
    accounts,
    api_tokens,
    demo,
    feedback,
    jobs,
    outbox,
    pulse,
    signals,
)
from workflow.services.archive_file import ArchiveTable, pack, unpack
from workflow.services.org_archive import _rewrite_text, export_organisation
from workflow.services.processes import restore_version

OWNED = org_tables.owned_tables(t.metadata)


def rich_organisation(session: Session, app=None) -> tuple[t.Organisation, dict[str, str]]:
    """The demo organisation plus every kind of row people make; returns it and the users'
    passwords by e-mail."""
    renderer = {"renderer": rendering.renderer(app), "step_url": rendering.step_url} if app else {}
    people = demo.seed_demo(session, MODELS, **renderer)
    org = session.scalar(select(t.Organisation).where(t.Organisation.name == demo.DEMO_ORG_NAME))
    users = {u.role: u for u in session.scalars(select(t.User).where(t.User.org_id == org.id))}
    invited, _token = accounts.invite_user(
        session, users["admin"], "new.person@demo.leanlane.example", "New Person", "staff"
    )
    processes = {
        p.key: p for p in session.scalars(select(t.Process).where(t.Process.org_id == org.id))
    }
    claims, journey = processes["claims"], processes["file_claim"]
    restore_version(session, claims, 1, author_id=users["owner"].id, base_version=1, **renderer)
    step = next(
        s.id
        for s in repo.parse_document(repo.current_version(session, claims).document).process.steps()
        if s.kind.value == "task"
    )
    flag = signals.flag_step(
        session, users["staff"], claims, step, category="waiting", severity=4, text="Slow ☕"
    )
    signals.me_too(session, users["owner"], flag.id)
    journey_step = next(
        s.id
        for s in feedback.customer_steps(
            repo.parse_document(repo.current_version(session, journey).document).process
        )
    )
    feedback.submit_feedback(
        session, journey, journey_step, "unclear", 2, "Confusing form", "cust@example.org", True
    )
    pulse.answer_pulse(session, users["staff"], 9)
    api_tokens.create_token(session, users["owner"], "reporting script")
    review = t.ProposalReview(
        org_id=org.id,
        process_id=claims.id,
        version_number=claims.current_version,
        proposal_key="claims:eliminate:x",
        title="Drop the second check",
        rule="eliminate",
        targets=step,
        status="accepted",
        reason="Nobody reads it",
        decided_by_id=users["reviewer"].id,
        decided_at=dt.datetime(2026, 11, 3, 9, 30),
    )
    session.add(review)
    session.flush()
    flag.review_id = review.id
    session.add(t.Comment(review_id=review.id, author_id=users["reviewer"].id, text="Agreed"))
    outbox.queue_message(session, org.id, "cust@example.org", "You said", "We did", flag.id)
    jobs.submit(
        session, None, org_id=org.id, user_id=users["owner"].id, kind="bpmn", payload=b"<x/>"
    )
    done = jobs.submit(session, None, org_id=org.id, user_id=users["owner"].id, kind="bpmn")
    done.status, done.progress, done.finished_at = jobs.DONE, 1.0, dt.datetime(2026, 11, 4)
    done.result = json.dumps({"processes": [{"id": claims.id, "key": "claims", "name": "Claims"}]})
    session.flush()
    passwords = {p.email: p.password for p in people}
    assert invited.invite_token_hash
    return org, passwords


def rich_archive(directory: Path) -> bytes:
    """The rich organisation's archive, made in a database of its own under ``directory``."""
    engine = make_engine(f"sqlite:///{directory / 'source.sqlite3'}")
    upgrade(engine)
    with transaction(make_session_factory(engine)) as source:
        org, _passwords = rich_organisation(source)
        data = export_organisation(source, org)
    engine.dispose()
    return data


def counts(session: Session) -> dict[str, int]:
    """Rows of every table of the schema, to show nothing was written."""
    return {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in t.metadata.sorted_tables
    }


def normalised(data: bytes) -> dict[str, list[dict[str, Any]]]:
    """The archive's rows with every id replaced by the row's place in its table, and without
    the organisation's name and slug, so two archives of the same content compare equal."""
    tables = unpack(data).tables
    places = {
        name: {row[table.columns.index("id")]: n for n, row in enumerate(table.rows, start=1)}
        for name, table in tables.items()
    }
    found: dict[str, list[dict[str, Any]]] = {}
    for item in OWNED:
        table = tables[item.name]
        rows = []
        for row in table.rows:
            record = dict(zip(table.columns, row, strict=True))
            record["id"] = places[item.name][record["id"]]
            for column, target in item.references.items():
                if record[column] is not None:
                    record[column] = places[target][record[column]]
            for (name, column), reference in org_tables.TEXT_REFERENCES.items():
                target = reference.target(record) if name == item.name else None
                if target is not None:
                    record[column] = _rewrite_text(record[column], reference, places[target])
            if item.name == org_tables.ROOT:
                record.pop("name"), record.pop("slug")
            rows.append(record)
        found[item.name] = rows
    return found


def repacked(data: bytes, change) -> bytes:
    """The archive after ``change(tables)`` edits its tables, with a matching manifest."""
    archive = unpack(data)
    tables = {
        name: {"columns": list(table.columns), "rows": [list(row) for row in table.rows]}
        for name, table in archive.tables.items()
    }
    tables = json.loads(json.dumps(tables, default=str))
    change(tables)
    manifest = {
        k: v for k, v in archive.manifest.items() if k not in ("format", "format_version", "tables")
    }
    return pack(
        manifest,
        {name: ArchiveTable(table["columns"], table["rows"]) for name, table in tables.items()},
    )


def column_index(tables: dict, table: str, column: str) -> int:
    return tables[table]["columns"].index(column)


def without_exports(found: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """A normalised archive without the trail's records of archives being taken: comparing an
    organisation before and after means exporting it, and each export is recorded."""
    events = [e for e in found["audit_events"] if e["action"] != "organisation.exported"]
    return found | {"audit_events": events}
