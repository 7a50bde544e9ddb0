"""Mutated archives: each is imported fully or refused with a clear reason, never a crash and
never a partial write.

Mutations change one value to any JSON value, drop or repeat a row, drop a column, or damage
the file's bytes. After a refusal the database holds exactly the rows it held before, inside the
same transaction (so no row was even flushed); after an import it holds exactly the archive's
rows more, and the new organisation exports again.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.org_archive_helpers import counts, repacked, rich_archive
from workflow.adapters import tables as t
from workflow.services.archive_file import ArchiveLimits, unpack
from workflow.services.org_archive import ArchiveError, export_organisation, import_organisation

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LIMITS = ArchiveLimits(max_unpacked_bytes=16 * 1024 * 1024)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=300)
    | st.sampled_from(
        ["\ud800", "a\x00b", "2026-11-04T10:00:00", "2026-11-04T10:00:00+02:00", "x" * 5000]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory) -> bytes:
    return rich_archive(tmp_path_factory.mktemp("source"))


def _outcome_is_all_or_nothing(session, data: bytes) -> None:
    before = counts(session)
    try:
        try:
            report = import_organisation(session, data, limits=LIMITS)
        except ArchiveError as refused:
            assert refused.problems and all(p.strip() for p in refused.problems)
            assert str(refused).startswith("The archive was not imported: ")
            assert counts(session) == before
            return
        after = counts(session)
        archived = {name: len(table.rows) for name, table in unpack(data, LIMITS).tables.items()}
        assert report.rows == {name: archived.get(name, 0) for name in report.rows}
        assert {name: after[name] - before[name] for name in report.rows} == report.rows
        export_organisation(session, session.get(t.Organisation, report.org_id))
    finally:
        session.rollback()


@FUZZ
@given(choice=st.data(), value=JSON_VALUES)
def test_any_value_anywhere_is_imported_or_refused_whole(session, small_archive, choice, value):
    tables = {name: table for name, table in unpack(small_archive).tables.items() if table.rows}
    name = choice.draw(st.sampled_from(sorted(tables)), "table")
    row = choice.draw(st.integers(0, len(tables[name].rows) - 1), "row")
    column = choice.draw(st.sampled_from(tables[name].columns), "column")

    def change(edited):
        index = edited[name]["columns"].index(column)
        edited[name]["rows"][row][index] = value

    _outcome_is_all_or_nothing(session, repacked(small_archive, change))


@FUZZ
@given(choice=st.data(), action=st.sampled_from(["drop row", "repeat row", "drop column"]))
def test_rows_and_columns_removed_or_repeated_are_imported_or_refused_whole(
    session, small_archive, choice, action
):
    tables = {name: table for name, table in unpack(small_archive).tables.items() if table.rows}
    name = choice.draw(st.sampled_from(sorted(tables)), "table")
    row = choice.draw(st.integers(0, len(tables[name].rows) - 1), "row")
    column = choice.draw(st.integers(0, len(tables[name].columns) - 1), "column")

    def change(edited):
        rows = edited[name]["rows"]
        if action == "drop row":
            rows.pop(row)
        elif action == "repeat row":
            rows.append(list(rows[row]))
        else:
            edited[name]["columns"].pop(column)
            for values in rows:
                values.pop(column)

    _outcome_is_all_or_nothing(session, repacked(small_archive, change))


@FUZZ
@given(choice=st.data(), action=st.sampled_from(["flip", "cut"]))
def test_damaged_bytes_are_refused_whole(session, small_archive, choice, action):
    position = choice.draw(st.integers(0, len(small_archive) - 1), "position")
    if action == "cut":
        data = small_archive[:position]
    else:
        bit = choice.draw(st.integers(0, 7), "bit")
        data = bytearray(small_archive)
        data[position] ^= 1 << bit
        data = bytes(data)
    _outcome_is_all_or_nothing(session, data)
