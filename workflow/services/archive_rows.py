"""Checks and conversions of an archive's rows against the schema, before anything is written.

Every value is checked against its column's type as both SQLite and PostgreSQL would store it
(integers within 32 bits, text within its length, no NUL characters or lone surrogates, dates in
ISO 8601), every reference must point at a row of the archive, and unique columns must be unique
inside it. Values with a fixed vocabulary (roles, statuses) must be one of its words, each
process's current version must be in the archive, and every version's document must read as
one process, so an imported organisation never holds a value its pages cannot show.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, Integer, LargeBinary, String

from workflow.adapters import org_tables
from workflow.adapters.org_tables import OwnedTable
from workflow.errors import ModelError
from workflow.services.accounts import ROLES
from workflow.services.archive_file import ArchiveTable
from workflow.services.jobs import DONE, FAILED, QUEUED, RUNNING
from workflow.vocabulary import FlagCategory, FlagSource, FlagStatus, Perspective
from workflow.yaml_format import loads_draft

__all__ = ["CHOICES", "check_tables", "from_archive", "to_archive"]

INT_MIN, INT_MAX = -(2**31), 2**31 - 1

#: Columns whose values come from a fixed vocabulary.
CHOICES: dict[tuple[str, str], frozenset[str]] = {
    ("users", "role"): frozenset(ROLES),
    ("processes", "perspective"): frozenset(p.value for p in Perspective),
    ("flags", "source"): frozenset(s.value for s in FlagSource),
    ("flags", "category"): frozenset(c.value for c in FlagCategory),
    ("flags", "status"): frozenset(s.value for s in FlagStatus),
    ("proposal_reviews", "status"): frozenset({"open", "accepted", "rejected", "applied"}),
    ("jobs", "status"): frozenset({QUEUED, RUNNING, DONE, FAILED}),
}


def to_archive(column_type: Any, value: Any) -> Any:
    """A database value as JSON: dates as ISO 8601 text, bytes as base64."""
    if value is None:
        return None
    if isinstance(column_type, DateTime):
        return value.isoformat()
    if isinstance(column_type, LargeBinary):
        return base64.b64encode(value).decode("ascii")
    return value


def _text(value: Any, length: int | None) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    if length is not None and len(value) > length:
        raise ValueError(f"must be at most {length} characters")
    return value


def from_archive(column_type: Any, value: Any) -> Any:
    """A JSON value as the column stores it; ValueError saying why it does not fit."""
    if isinstance(column_type, Boolean):
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if isinstance(column_type, Integer):
        if type(value) is not int:
            raise ValueError("must be a whole number")
        if not INT_MIN <= value <= INT_MAX:
            raise ValueError("is out of range")
        return value
    if isinstance(column_type, Float):
        if type(value) not in (int, float) or not math.isfinite(value):
            raise ValueError("must be a number")
        return float(value)
    if isinstance(column_type, DateTime):
        try:
            moment = dt.datetime.fromisoformat(_text(value, 40))
        except ValueError:
            raise ValueError("must be a date and time in ISO 8601") from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment
    if isinstance(column_type, LargeBinary):
        try:
            return base64.b64decode(_text(value, None), validate=True)
        except binascii.Error:
            raise ValueError("must be base64") from None
    if isinstance(column_type, String):
        return _text(value, column_type.length)
    raise ValueError(f"has a type ({column_type}) archives do not carry")


def _missing_is_fine(owned: OwnedTable, name: str) -> bool:
    column = owned.table.c[name]
    return column.nullable or column.default is not None or column.server_default is not None


def _check_columns(owned: OwnedTable, table: ArchiveTable, where: str) -> Iterator[str]:
    known = {c.name for c in owned.columns}
    for name in table.columns:
        if name not in known:
            yield f"{where}: column {name!r} is not part of this release's archive format"
    for name in sorted(known - set(table.columns)):
        if not _missing_is_fine(owned, name):
            yield f"{where}: required column {name!r} is missing"


def _check_values(owned: OwnedTable, table: ArchiveTable, where: str) -> Iterator[str]:
    """Convert every value in place, yielding a sentence for each that does not fit."""
    columns = [owned.table.c[name] for name in table.columns]
    for number, row in enumerate(table.rows, start=1):
        for index, column in enumerate(columns):
            value = row[index]
            if value is None:
                if not column.nullable:
                    yield f"{where} row {number}: {column.name} is required"
                continue
            try:
                row[index] = from_archive(column.type, value)
            except ValueError as exc:
                yield f"{where} row {number}: {column.name} {exc} (found {str(value)[:40]!r})"
                continue
            choices = CHOICES.get((owned.name, column.name))
            if choices is not None and row[index] not in choices:
                yield (
                    f"{where} row {number}: {column.name} must be one of "
                    f"{', '.join(sorted(choices))} (found {str(value)[:40]!r})"
                )


def _check_ids(table: ArchiveTable, where: str) -> Iterator[str]:
    index = table.columns.index("id") if "id" in table.columns else None
    if index is None:
        yield f"{where}: required column 'id' is missing"
        return
    seen: set[Any] = set()
    for number, row in enumerate(table.rows, start=1):
        value = row[index]
        if type(value) is not int or value < 1:
            yield f"{where} row {number}: id must be a positive whole number"
        elif value in seen:
            yield f"{where} row {number}: id {value} is used twice"
        else:
            seen.add(value)


def _ids(table: ArchiveTable | None) -> set[Any]:
    return set(_values(table, "id")) if table is not None else set()


def _check_references(
    owned: OwnedTable, table: ArchiveTable, tables: dict[str, ArchiveTable], where: str
) -> Iterator[str]:
    for column, target in owned.references.items():
        if column not in table.columns:
            continue
        index = table.columns.index(column)
        known = _ids(tables.get(target))
        for number, row in enumerate(table.rows, start=1):
            value = row[index]
            if value is not None and value not in known:
                yield (
                    f"{where} row {number}: {column} {value!r} refers to no row of {target} "
                    "in the archive"
                )


def _check_unique(owned: OwnedTable, table: ArchiveTable, where: str) -> Iterator[str]:
    for columns in owned.unique_sets():
        if not set(columns) <= set(table.columns):
            continue
        indexes = [table.columns.index(c) for c in columns]
        seen: set[tuple[Any, ...]] = set()
        for number, row in enumerate(table.rows, start=1):
            key = tuple(row[i] for i in indexes)
            if any(v is None for v in key):
                continue
            if key in seen:
                yield f"{where} row {number}: {', '.join(columns)} {key!r} appears twice"
            seen.add(key)


def _check_current_versions(tables: dict[str, ArchiveTable]) -> Iterator[str]:
    """Each process's current version must be one of its versions (pages open it)."""
    processes, versions = tables.get("processes"), tables.get("process_versions")
    if processes is None:
        return
    have: set[tuple[Any, Any]] = set()
    if versions is not None:
        have = set(zip(_values(versions, "process_id"), _values(versions, "number"), strict=True))
    for number, (process_id, current) in enumerate(
        zip(_values(processes, "id"), _values(processes, "current_version"), strict=True), start=1
    ):
        if (process_id, current) not in have:
            yield (
                f"tables/processes.json row {number}: current_version {current} is not one of "
                f"the versions of process {process_id} in process_versions"
            )


def _check_documents(tables: dict[str, ArchiveTable]) -> Iterator[str]:
    """Every version's document must read as one process, as pages and analyses read it."""
    versions = tables.get("process_versions")
    if versions is None:
        return
    for number, document in enumerate(_values(versions, "document"), start=1):
        try:
            model, _problems = loads_draft(document, "document")
        except ModelError as exc:
            yield f"tables/process_versions.json row {number}: document {exc.lines()[0]}"
            continue
        if len(model.processes) != 1:
            yield f"tables/process_versions.json row {number}: document must hold one process"


def _values(table: ArchiveTable, column: str) -> list[Any]:
    if column not in table.columns:
        return [None] * len(table.rows)
    index = table.columns.index(column)
    return [row[index] for row in table.rows]


def check_tables(tables: dict[str, ArchiveTable], owned: list[OwnedTable]) -> list[str]:
    """Every problem of the archive's rows, in table order; converts the values in place."""
    by_name = {o.name: o for o in owned}
    problems = [
        f"tables/{name}.json: table {name!r} is not one this release archives (is the archive "
        "from a newer Leanlane?)"
        for name in tables
        if name not in by_name
    ]
    root = tables.get(org_tables.ROOT)
    if root is None or len(root.rows) != 1:
        problems.append(f"tables/{org_tables.ROOT}.json must hold exactly one organisation")
    if problems:
        return problems
    for item in owned:
        table = tables.get(item.name)
        if table is None:
            continue
        where = f"tables/{item.name}.json"
        found = list(_check_columns(item, table, where))
        found += _check_ids(table, where)
        if not found:
            found += _check_values(item, table, where)
        problems += found
    if problems:
        return problems
    for item in owned:
        table = tables.get(item.name)
        if table is not None:
            where = f"tables/{item.name}.json"
            problems += _check_references(item, table, tables, where)
            problems += _check_unique(item, table, where)
    problems += _check_current_versions(tables)
    problems += _check_documents(tables)
    return problems
