"""Which tables hold an organisation's rows, read from the schema itself.

An organisation archive (:mod:`workflow.services.org_archive`) must carry every row an
organisation owns, including rows of tables added after it was written. So instead of a list of
tables, the schema is walked: ``organisations`` is the root; a table with a foreign key to it
(``org_id``) belongs to it directly; any other table belongs to it through its first
non-nullable foreign key to a table that already belongs (``comments.review_id`` ->
``proposal_reviews.org_id``). Every foreign key of such a table is remapped when the archive is
read into a new organisation.

What the walk cannot see must be declared here, each with its reason: tables left out, columns
left out, numbers that refer to rows without a foreign key, and what to do when a value that
must be unique in the whole database is already taken there. :func:`undecided` lists what is
neither covered nor declared, and a test keeps it empty, so a new table or column cannot be
forgotten by the archive. A declaration about a table the schema does not have is ignored, so
it can be made before its migration lands.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, UniqueConstraint
from sqlalchemy.schema import sort_tables

__all__ = [
    "EXCLUDED_COLUMNS",
    "EXCLUDED_TABLES",
    "GLOBAL_UNIQUE",
    "NOT_REFERENCES",
    "ROOT",
    "TEXT_REFERENCES",
    "OnTaken",
    "OwnedTable",
    "TextReference",
    "owned_tables",
    "undecided",
]

ROOT = "organisations"

#: Tables of the schema that are not part of an organisation, with the reason.
EXCLUDED_TABLES: dict[str, str] = {}

#: Columns of owned tables that an archive leaves out, with the reason. They are written as
#: their default (or NULL) on import.
EXCLUDED_COLUMNS: dict[tuple[str, str], str] = {
    ("jobs", "payload"): (
        "the uploaded file of a background import, kept only until the job has read it (or for "
        "a day for a retry); a job still queued or running when the archive is written is "
        "stored as failed instead, and a failed one cannot be tried again after the move"
    ),
}


class OnTaken(enum.Enum):
    """What an import does when a value unique across the database is already in use there."""

    #: Refuse the import and name the values (e-mail addresses: a person has one account).
    REFUSE = "refuse"
    #: Draw a new random value (a journey's public feedback link).
    RENEW = "renew"
    #: Leave the column empty (an invitation not yet accepted: the admin sends a new one).
    CLEAR = "clear"
    #: Leave the row out (an API token: the same token cannot open two accounts).
    DROP = "drop"
    #: Made from the organisation's new name (the organisation's slug).
    DERIVE = "derive"


#: Columns unique across the whole database (not only inside one organisation's rows).
GLOBAL_UNIQUE: dict[tuple[str, str], OnTaken] = {
    ("organisations", "slug"): OnTaken.DERIVE,
    ("users", "email"): OnTaken.REFUSE,
    ("users", "invite_token_hash"): OnTaken.CLEAR,
    ("processes", "public_token"): OnTaken.RENEW,
    ("api_tokens", "token_hash"): OnTaken.DROP,
}

#: Columns that a cleared unique column takes with it (an invitation's expiry).
CLEARED_WITH: dict[tuple[str, str], tuple[str, ...]] = {
    ("users", "invite_token_hash"): ("invite_expires_at",),
}


@dataclass(frozen=True)
class TextReference:
    """Ids of rows written inside a text column, which must follow the rows' new ids.

    ``pattern`` holds ``{id}`` where the id stands (``"{id}"`` alone: the whole value is the
    id); ``table`` is the table the id refers to; ``json_key`` names, for a JSON column, the list
    of objects whose ``"id"`` is such an id. A column whose rows refer to different tables names
    the column that tells them apart in ``kind_column`` and the table of each kind in ``kinds``
    (other kinds hold no row id: a step id, a proposal key).
    """

    table: str = ""
    pattern: str = ""
    json_key: str = ""
    kind_column: str = ""
    kinds: tuple[tuple[str, str], ...] = ()

    def tables(self) -> set[str]:
        return {self.table} if self.table else {table for _kind, table in self.kinds}

    def target(self, row: Mapping[str, Any]) -> str | None:
        """The table this row's ids refer to, or None when it holds none."""
        if not self.kind_column:
            return self.table
        return dict(self.kinds).get(row.get(self.kind_column))


#: Text columns that carry ids of other rows.
TEXT_REFERENCES: dict[tuple[str, str], TextReference] = {
    # The saved swimlane map links every step to its page, /processes/<id>/steps/<step>.
    ("process_versions", "map_svg"): TextReference("processes", pattern="/processes/{id}/"),
    # An import job's result lists the processes it made: {"processes": [{"id": ...}]}.
    ("jobs", "result"): TextReference("processes", json_key="processes"),
    # An audit event names what it is about: a user's id for kind "user", a proposal's key for
    # kind "proposal", a step's id for kind "step".
    ("audit_events", "subject_id"): TextReference(
        pattern="{id}",
        kind_column="subject_kind",
        kinds=(
            ("organisation", "organisations"),
            ("user", "users"),
            ("api_token", "api_tokens"),
            ("process", "processes"),
            ("flag", "flags"),
        ),
    ),
}

#: Columns named like references (``*_id``) that hold no row id, with the reason.
NOT_REFERENCES: dict[tuple[str, str], str] = {
    ("flags", "step_id"): "the id of a step inside the process's document, not a row",
    ("ces_answers", "step_id"): "the id of a step inside the journey's document, not a row",
}


@dataclass(frozen=True)
class OwnedTable:
    """A table whose rows belong to an organisation, and how they are found.

    ``owner`` is the column that ties a row to its owner (``org_id``, or a foreign key to an
    owned table); ``references`` maps each foreign-key column to the table it refers to.
    """

    table: Table
    owner: str
    references: dict[str, str]

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns(self) -> list[Column]:
        return [c for c in self.table.columns if (self.name, c.name) not in EXCLUDED_COLUMNS]

    def unique_sets(self) -> list[tuple[str, ...]]:
        """Column sets that must be unique, single columns and constraints alike."""
        found = [(c.name,) for c in self.table.columns if c.unique]
        found += [
            tuple(c.name for c in constraint.columns)
            for constraint in self.table.constraints
            if isinstance(constraint, UniqueConstraint)
        ]
        return sorted(set(found))


def _has_integer_id(table: Table) -> bool:
    keys = list(table.primary_key.columns)
    return len(keys) == 1 and keys[0].name == "id" and isinstance(keys[0].type, Integer)


def _insert_order(metadata: MetaData) -> list[Table]:
    """Tables after those they refer to, by foreign key or by ids written in their text."""
    tables = metadata.tables
    after = [
        (tables[target], tables[name])
        for (name, _column), reference in TEXT_REFERENCES.items()
        for target in reference.tables()
        if name in tables and target in tables and target != name
    ]
    return sort_tables(tables.values(), extra_dependencies=after)


def owned_tables(metadata: MetaData) -> list[OwnedTable]:
    """Every table an organisation owns, parents before children (the order to insert in)."""
    found: dict[str, OwnedTable] = {}
    for table in _insert_order(metadata):
        if table.name in EXCLUDED_TABLES or not _has_integer_id(table):
            continue
        references = {
            fk.parent.name: fk.column.table.name
            for fk in sorted(table.foreign_keys, key=lambda fk: fk.parent.name)
        }
        if table.name == ROOT:
            found[ROOT] = OwnedTable(table, "id", references)
            continue
        direct = [column for column, target in references.items() if target == ROOT]
        through = [
            column
            for column, target in references.items()
            if target in found and target != table.name and not table.c[column].nullable
        ]
        owner = (direct or through or [None])[0]
        if owner is not None and not all(
            t in found or t == table.name for t in references.values()
        ):
            owner = None
        if owner is not None:
            found[table.name] = OwnedTable(table, owner, references)
    return list(found.values())


def undecided(metadata: MetaData) -> list[str]:
    """What the archive neither carries nor declares, one line each (empty when all is decided)."""
    owned = {o.name: o for o in owned_tables(metadata)}
    problems = [
        f"table {table.name}: not owned by an organisation and not in EXCLUDED_TABLES"
        for table in metadata.sorted_tables
        if table.name not in owned and table.name not in EXCLUDED_TABLES
    ]
    for table in owned.values():
        for columns in table.unique_sets():
            scoped = any(c == "id" or c in table.references for c in columns)
            if not scoped and (len(columns) > 1 or (table.name, columns[0]) not in GLOBAL_UNIQUE):
                problems.append(
                    f"table {table.name}: unique {', '.join(columns)} has no rule in GLOBAL_UNIQUE"
                )
        for column in table.table.columns:
            key = (table.name, column.name)
            if (
                column.name.endswith("_id")
                and column.name not in table.references
                and key not in NOT_REFERENCES
                and key not in TEXT_REFERENCES
            ):
                problems.append(
                    f"column {table.name}.{column.name}: looks like a row id but has no foreign "
                    "key; declare it in TEXT_REFERENCES or NOT_REFERENCES"
                )
    for (name, column), rule in GLOBAL_UNIQUE.items():
        referrers = [o.name for o in owned.values() if name in o.references.values()]
        if rule is OnTaken.DROP and referrers:
            problems.append(
                f"column {name}.{column}: rows of {name} may be left out on import, but "
                f"{', '.join(referrers)} refer to them"
            )
    for key in [*EXCLUDED_COLUMNS, *GLOBAL_UNIQUE, *TEXT_REFERENCES, *NOT_REFERENCES]:
        if key[0] in owned and key[1] not in owned[key[0]].table.c:
            problems.append(f"column {key[0]}.{key[1]} is declared here but not in the schema")
    return problems
