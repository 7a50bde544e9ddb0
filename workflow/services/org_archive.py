"""Write everything an organisation owns to one archive file, and read it into a new one.

The tables come from the schema (:mod:`workflow.adapters.org_tables`), so a table added later
is archived without a change here. Export reads inside the caller's transaction, so the archive
is one consistent moment. Import checks the whole archive first (format, types, references,
values already taken in the target database) and only then writes, inside the caller's
transaction: an archive is imported completely or not at all.

Users keep their password hashes, so people log in with their old passwords after a move; API
tokens keep their hashes, so API clients keep working. An archive therefore holds secrets and
must be handled like a database backup.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workflow.adapters import org_tables
from workflow.adapters import tables as t
from workflow.adapters.database import head_revision
from workflow.adapters.org_tables import (
    CLEARED_WITH,
    GLOBAL_UNIQUE,
    ROOT,
    TEXT_REFERENCES,
    OnTaken,
    OwnedTable,
)
from workflow.services import accounts, audit
from workflow.services.archive_file import (
    ArchiveError,
    ArchiveLimits,
    ArchiveTable,
    UnpackedArchive,
    pack,
    unpack,
)
from workflow.services.archive_rows import check_tables, to_archive
from workflow.services.errors import InvalidInput, NotFound
from workflow.services.jobs import DONE, FAILED

__all__ = [
    "ArchiveError",
    "ArchiveLimits",
    "ImportReport",
    "export_organisation",
    "export_snapshot",
    "find_organisation",
    "import_organisation",
    "read_archive",
]

UNFINISHED_JOB_ERROR = (
    "The job had not finished when the organisation was exported; submit the file again."
)
EMAIL_TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,29}$")
_BATCH = 500


def _owned() -> list[OwnedTable]:
    return org_tables.owned_tables(t.metadata)


def find_organisation(session: Session, wanted: str) -> t.Organisation:
    """The organisation with this id, slug or (unambiguous) name; NotFound otherwise."""
    if wanted.isdigit():
        found = session.get(t.Organisation, int(wanted))
        if found is not None:
            return found
    found = accounts.organisation_by_slug(session, wanted)
    if found is not None:
        return found
    named = list(
        session.scalars(
            select(t.Organisation).where(func.lower(t.Organisation.name) == wanted.lower())
        )
    )
    if len(named) > 1:
        raise NotFound(
            f"{len(named)} organisations are named {wanted!r}; give the id or slug instead "
            f"({', '.join(f'{o.id} {o.slug}' for o in named)})"
        )
    if not named:
        raise NotFound(f"no organisation has the id, slug or name {wanted!r}")
    return named[0]


def _row_filter(owned: dict[str, OwnedTable], name: str, org_id: int) -> Any:
    """The condition that picks the organisation's rows of table ``name``."""
    item = owned[name]
    column = item.table.c[item.owner]
    if name == ROOT:
        return column == org_id
    target = item.references[item.owner]
    if target == ROOT:
        return column == org_id
    parent = owned[target].table
    return column.in_(select(parent.c.id).where(_row_filter(owned, target, org_id)))


def _settle_unfinished_job(row: dict[str, Any]) -> None:
    """A job cannot go on elsewhere without its file: the archive records it as failed."""
    if row["status"] not in (DONE, FAILED):
        row["status"] = FAILED
        row["error"] = UNFINISHED_JOB_ERROR


#: Per-table adjustments of exported rows (as dictionaries of column to value).
EXPORT_ADJUSTMENTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "jobs": _settle_unfinished_job,
}


def _export_table(session: Session, item: OwnedTable, condition: Any) -> ArchiveTable:
    columns = item.columns
    query: Select = select(*columns).where(condition).order_by(item.table.c.id)
    adjust = EXPORT_ADJUSTMENTS.get(item.name)
    rows = []
    for found in session.execute(query):
        values = dict(zip([c.name for c in columns], found, strict=True))
        if adjust is not None:
            adjust(values)
        rows.append([to_archive(c.type, values[c.name]) for c in columns])
    return ArchiveTable([c.name for c in columns], rows)


def _app_version() -> str:
    try:
        return importlib.metadata.version("leanlane")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def export_organisation(
    session: Session, org: t.Organisation, *, now: dt.datetime | None = None
) -> bytes:
    """The archive of everything ``org`` owns, as the bytes of a zip file.

    The archive is checked as an import would check it before it is returned, so an export that
    could not be imported again is refused (InvalidInput naming the row) instead of written.
    """
    owned = _owned()
    by_name = {item.name: item for item in owned}
    tables = {
        item.name: _export_table(session, item, _row_filter(by_name, item.name, org.id))
        for item in owned
    }
    moment = (now or t.utcnow()).replace(microsecond=0)
    manifest = {
        "app_version": _app_version(),
        "schema_revision": head_revision(),
        "exported_at": moment.isoformat() + "Z",
        "organisation": {"id": org.id, "name": org.name},
    }
    data = pack(manifest, tables)
    problems = check_tables(unpack(data).tables, owned)
    if problems:
        raise InvalidInput(
            f"The organisation cannot be exported: its rows would not import again "
            f"({problems[0]}).",
            "",
            problems,
        )
    return data


def export_snapshot(
    factory: sessionmaker[Session], org_id: int, *, actor_id: int | None = None
) -> tuple[str, bytes]:
    """The organisation's name and archive, read in a transaction of its own that sees one
    moment of the database (PostgreSQL's REPEATABLE READ; SQLite's transactions already do).

    The archive holds every password hash, so taking one is written to the audit trail (by
    ``actor_id``, or by nobody signed in for the command line), after the snapshot.
    """
    with factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        org = session.get(t.Organisation, org_id)
        if org is None:
            raise NotFound(f"no organisation has the id {org_id}")
        name = org.name
        data = export_organisation(session, org)
        session.rollback()
    with factory() as session:
        audit.record(
            session,
            org_id=org_id,
            actor_id=actor_id,
            action="organisation.exported",
            subject_kind="organisation",
            subject_id=org_id,
            summary=f"Exported the organisation with its password hashes ({len(data):,} bytes)",
            details={"bytes": len(data)},
        )
        session.commit()
    return name, data


@dataclass
class ImportReport:
    """What an import made, and what it had to change to fit the target database."""

    org_id: int
    name: str
    slug: str
    rows: dict[str, int]
    notes: list[str] = field(default_factory=list)


def read_archive(data: bytes, limits: ArchiveLimits | None = None) -> UnpackedArchive:
    """The archive's manifest and checked rows; ArchiveError listing the problems otherwise."""
    archive = unpack(data, limits)
    problems = check_tables(archive.tables, _owned())
    if problems:
        raise ArchiveError(problems)
    return archive


def _column(table: ArchiveTable, name: str) -> list[Any]:
    index = table.columns.index(name)
    return [row[index] for row in table.rows]


def _taken(session: Session, item: OwnedTable, column: str, values: list[Any]) -> set[Any]:
    """Which of ``values`` the target database already has in ``column`` (e-mails caselessly)."""
    target = item.table.c[column]
    caseless = column == "email"
    wanted = sorted({v.lower() if caseless else v for v in values if v is not None})
    found: set[Any] = set()
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        expression = func.lower(target) if caseless else target
        found |= set(session.scalars(select(expression).where(expression.in_(chunk))))
    return {v for v in values if v is not None and (v.lower() if caseless else v) in found}


def _tag_email(email: str, tag: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local}+{tag}@{domain}"


def _apply_email_tag(archive: UnpackedArchive, tag: str) -> None:
    if not EMAIL_TAG.match(tag):
        raise InvalidInput(
            "Use 1 to 30 lower-case letters, digits or '-' for the e-mail tag.", "email_tag"
        )
    users = archive.tables.get("users")
    if users is None:
        return
    index = users.columns.index("email")
    for row in users.rows:
        row[index] = _tag_email(row[index], tag)
        if len(row[index]) > 254:
            raise ArchiveError([f"{row[index]!r} is longer than 254 characters with the tag"])


def _settle_taken_values(
    session: Session, archive: UnpackedArchive, owned: dict[str, OwnedTable]
) -> tuple[dict[str, set[int]], list[str]]:
    """Apply each rule of GLOBAL_UNIQUE; returns the ids of rows to leave out, and notes."""
    dropped: dict[str, set[int]] = {}
    notes: list[str] = []
    refused: list[str] = []
    for (name, column), rule in GLOBAL_UNIQUE.items():
        table = archive.tables.get(name)
        if rule is OnTaken.DERIVE or table is None or column not in table.columns:
            continue
        index = table.columns.index(column)
        taken = _taken(session, owned[name], column, _column(table, column))
        if not taken:
            continue
        hits = [row for row in table.rows if row[index] in taken]
        if rule is OnTaken.REFUSE:
            refused.append(
                f"{name}.{column}: {', '.join(sorted(str(v) for v in taken))} already "
                f"exist{'s' if len(taken) == 1 else ''} in this database"
            )
        elif rule is OnTaken.RENEW:
            for row in hits:
                row[index] = secrets.token_urlsafe(16)
            notes.append(f"{len(hits)} {name} got a new {column} (the old one is in use here)")
        elif rule is OnTaken.CLEAR:
            also = [table.columns.index(c) for c in CLEARED_WITH.get((name, column), ())]
            for row in hits:
                for i in (index, *also):
                    row[i] = None
            notes.append(f"{len(hits)} {name} lost their {column} (the same is in use here)")
        elif rule is OnTaken.DROP:
            ids = table.columns.index("id")
            dropped[name] = {row[ids] for row in hits}
            notes.append(f"{len(hits)} {name} were left out (the same {column} is in use here)")
    if refused:
        raise ArchiveError(
            [
                f"{line}; import into a database without them, or give an e-mail tag "
                "(--email-tag) to import the users under tagged addresses"
                for line in refused
            ]
        )
    return dropped, notes


def _rewrite_text(value: Any, reference: org_tables.TextReference, ids: dict[int, int]) -> Any:
    """``value`` with the ids written inside it replaced by the rows' new ids."""
    if value is None:
        return None
    if reference.pattern == "{id}":
        return str(ids.get(int(value), value)) if value.isdecimal() else value
    if reference.pattern:
        before, after = reference.pattern.split("{id}")
        pattern = re.compile(re.escape(before) + r"(\d+)" + re.escape(after))
        return pattern.sub(lambda m: f"{before}{ids.get(int(m[1]), int(m[1]))}{after}", value)
    try:
        document = json.loads(value)
    except ValueError:
        return value
    items = document.get(reference.json_key) if isinstance(document, dict) else None
    if not isinstance(items, list):
        return value
    for item in items:
        if isinstance(item, dict) and type(item.get("id")) is int:
            item["id"] = ids.get(item["id"], item["id"])
    return json.dumps(document)


def _insert_rows(
    session: Session,
    item: OwnedTable,
    table: ArchiveTable,
    new_ids: dict[str, dict[int, int]],
    dropped: set[int],
) -> tuple[dict[int, int], list[tuple[int, str, int]]]:
    """Insert the table's rows with remapped references; returns old->new ids and the
    references to rows of the same table, set once all its rows exist."""
    id_index = table.columns.index("id")
    later: list[tuple[int, str, int]] = []
    values = []
    old_ids = []
    for row in table.rows:
        if row[id_index] in dropped:
            continue
        record = dict(zip(table.columns, row, strict=True))
        old_ids.append(record.pop("id"))
        for column, target in item.references.items():
            old = record.get(column)
            if old is None:
                continue
            if target == item.name:
                later.append((old_ids[-1], column, old))
                record[column] = None
            else:
                record[column] = new_ids[target][old]
        for (name, column), reference in TEXT_REFERENCES.items():
            target = reference.target(record) if name == item.name else None
            if target is not None and column in record:
                record[column] = _rewrite_text(record[column], reference, new_ids.get(target, {}))
        values.append(record)
    mapping: dict[int, int] = {}
    statement = insert(item.table).returning(item.table.c.id, sort_by_parameter_order=True)
    for start in range(0, len(values), _BATCH):
        chunk = values[start : start + _BATCH]
        created = session.execute(statement, chunk).scalars().all()
        mapping.update(zip(old_ids[start : start + _BATCH], created, strict=True))
    return mapping, later


def _create_organisation(session: Session, table: ArchiveTable, name: str) -> t.Organisation:
    """The archived organisation under its new name and a slug free here (its history, audit
    trail included, comes from the archive: the import adds nothing of its own)."""
    record = dict(zip(table.columns, table.rows[0], strict=True))
    record.pop("id")
    record["name"] = name
    record["slug"] = accounts.free_slug(session, name)
    org = t.Organisation(**record)
    session.add(org)
    session.flush()
    return org


def import_organisation(
    session: Session,
    data: bytes,
    *,
    name: str = "",
    email_tag: str = "",
    limits: ArchiveLimits | None = None,
) -> ImportReport:
    """Create a new organisation from an archive, in the caller's transaction.

    Refused with :class:`ArchiveError` (and nothing written) when the archive is damaged, from
    an unknown format, inconsistent, or holds e-mail addresses this database already has
    (unless ``email_tag`` turns ``ada@example.org`` into ``ada+TAG@example.org``).
    """
    if len(name.strip()) > 200:
        raise InvalidInput("Use at most 200 characters for the organisation's name.", "name")
    archive = read_archive(data, limits)
    root = archive.tables[ROOT]
    name = name.strip() or str(root.rows[0][root.columns.index("name")]).strip()
    if not name:
        raise ArchiveError(
            [f"tables/{ROOT}.json: the organisation has no name; give it one (--name)"]
        )
    if email_tag:
        _apply_email_tag(archive, email_tag)
    owned = _owned()
    by_name = {item.name: item for item in owned}
    dropped, notes = _settle_taken_values(session, archive, by_name)
    try:
        org = _create_organisation(session, root, name)
        new_ids: dict[str, dict[int, int]] = {
            ROOT: {root.rows[0][root.columns.index("id")]: org.id}
        }
        counts = {ROOT: 1}
        for item in owned:
            if item.name == ROOT:
                continue
            table = archive.tables.get(item.name, ArchiveTable(["id"], []))
            mapping, later = _insert_rows(
                session, item, table, new_ids, dropped.get(item.name, set())
            )
            new_ids[item.name] = mapping
            counts[item.name] = len(mapping)
            for old_id, column, old_target in later:
                session.execute(
                    update(item.table)
                    .where(item.table.c.id == mapping[old_id])
                    .values({column: mapping[old_target]})
                )
    except IntegrityError as exc:
        raise ArchiveError(
            [
                "the database refused a row (another change may have taken one of the "
                f"archive's values meanwhile): {str(exc.orig).splitlines()[0]}"
            ]
        ) from None
    return ImportReport(org.id, org.name, org.slug, counts, notes)
