"""Reading CSV event logs: column mapping, timestamps like pm4py, and clear errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import mutate
from workflow.interchange.eventlog import EventLogError
from workflow.interchange.eventlog_csv import read_csv_log

UTC = dt.UTC


def write(tmp_path: Path, text: str | bytes, name: str = "log.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def rows(log) -> list[tuple]:
    frame = log.frame
    return list(
        zip(
            frame["case"].cast(str).to_list(),
            frame["activity"].cast(str).to_list(),
            frame["time"].to_list(),
            strict=True,
        )
    )


def test_common_column_names_are_found_without_options(tmp_path):
    path = write(tmp_path, "Case ID,Activity,Timestamp,User\n1,a,2024-01-01 10:00,ann\n")
    log = read_csv_log(path)
    assert log.columns == {
        "case": "Case ID",
        "activity": "Activity",
        "time": "Timestamp",
        "resource": "User",
    }


def test_pm4py_names_win_over_common_names(tmp_path):
    path = write(
        tmp_path,
        ",concept:name,Activity,time:timestamp,case:concept:name\n"
        "0,real,other,2024-01-01 10:00:00,c1\n",
    )
    log = read_csv_log(path)
    assert log.columns["activity"] == "concept:name"
    assert rows(log)[0][1] == "real"


def test_named_columns_are_used_and_semicolons_are_recognised(tmp_path):
    path = write(tmp_path, "id;step;when;who\nx;a;2024-01-01T10:00:00Z;ann\n")
    log = read_csv_log(path, {"case": "id", "activity": "step", "time": "when"})
    assert rows(log) == [("x", "a", dt.datetime(2024, 1, 1, 10, tzinfo=UTC))]


def test_a_missing_named_column_is_named_in_the_error_with_the_header(tmp_path):
    path = write(tmp_path, "case,activity,timestamp\n1,a,2024-01-01\n")
    with pytest.raises(EventLogError, match=r"no column 'kase' \(--case\); the columns are"):
        read_csv_log(path, {"case": "kase"})


def test_an_undetectable_column_asks_for_the_option(tmp_path):
    path = write(tmp_path, "case,what,timestamp\n1,a,2024-01-01\n")
    with pytest.raises(EventLogError, match=r"which column holds the activity.*--activity"):
        read_csv_log(path)


def test_offsets_are_converted_to_utc_and_naive_times_are_taken_as_utc(tmp_path):
    path = write(
        tmp_path,
        "case,activity,timestamp\n"
        "1,a,2024-01-01 10:00:00+02:00\n"
        "1,b,2024-01-01 09:30:00\n"
        "1,c,2024-01-01T08:45:00.250Z\n",
    )
    log = read_csv_log(path)
    assert [r[2] for r in rows(log)] == [
        dt.datetime(2024, 1, 1, 8, 0, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 8, 45, 0, 250000, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 9, 30, tzinfo=UTC),
    ]


def test_events_are_ordered_by_time_within_a_case_and_ties_keep_file_order(tmp_path):
    path = write(
        tmp_path,
        "case,activity,timestamp\n"
        "2,late,2024-01-03\n1,second,2024-01-02\n1,tie-first,2024-01-01\n"
        "1,tie-second,2024-01-01\n2,early,2024-01-01\n",
    )
    log = read_csv_log(path)
    by_case: dict[str, list[str]] = {}
    for case, activity, _ in rows(log):
        by_case.setdefault(case, []).append(activity)
    assert by_case == {"1": ["tie-first", "tie-second", "second"], "2": ["early", "late"]}


def test_an_unparseable_timestamp_names_the_row_and_column(tmp_path):
    path = write(tmp_path, "case,activity,timestamp\n1,a,2024-01-01\n1,b,yesterday\n")
    with pytest.raises(EventLogError, match=r"row 2: column 'timestamp': 'yesterday' is not"):
        read_csv_log(path)


def test_an_empty_activity_names_the_row(tmp_path):
    path = write(tmp_path, "case,activity,timestamp\n1,a,2024-01-01\n1,,2024-01-02\n")
    with pytest.raises(EventLogError, match=r"row 2: column 'activity' \(activity\) is empty"):
        read_csv_log(path)


def test_day_first_dates_are_read_when_they_cannot_be_month_first(tmp_path):
    path = write(tmp_path, "case,activity,timestamp\n1,a,31/01/2024 10:00\n1,b,01/02/2024 10:00\n")
    log = read_csv_log(path)
    assert [r[2].date() for r in rows(log)] == [dt.date(2024, 1, 31), dt.date(2024, 2, 1)]


def test_ambiguous_day_month_dates_are_refused_with_a_hint(tmp_path):
    path = write(tmp_path, "case,activity,timestamp\n1,a,01/02/2024 10:00\n")
    with pytest.raises(EventLogError, match=r"day/month or month/day.*--timestamp-format"):
        read_csv_log(path)
    log = read_csv_log(path, timestamp_format="%d/%m/%Y %H:%M")
    assert rows(log)[0][2] == dt.datetime(2024, 2, 1, 10, tzinfo=UTC)


def test_a_column_mixing_formats_is_read_value_by_value(tmp_path):
    path = write(
        tmp_path,
        "case,activity,timestamp\n1,a,2024-01-01 10:00:00+01:00\n1,b,2024-01-01 10:30:00\n",
    )
    assert [r[2].hour for r in rows(read_csv_log(path))] == [9, 10]


def test_start_timestamps_may_be_missing_on_some_events(tmp_path):
    path = write(
        tmp_path,
        "case,activity,start_timestamp,timestamp\n1,a,2024-01-01 09:00,2024-01-01 10:00\n"
        "1,b,,2024-01-01 11:00\n",
    )
    log = read_csv_log(path)
    assert log.has_start
    assert log.frame["start"].null_count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"case,activity,timestamp\n", "no events"),
        (b"just one column\nvalue\n", "header"),
        (b"case,activity,timestamp\n1,\xff\xfe,2024-01-01\n", "cannot read the CSV"),
        (b"\xff\xfecase,activity,timestamp\n", "UTF-8"),
        (b"case,activity,timestamp\n1,a,2024-01-01,extra,fields\n", "cannot read the CSV"),
    ],
)
def test_broken_files_give_one_clear_error(tmp_path, content, message):
    with pytest.raises(EventLogError, match=message):
        read_csv_log(write(tmp_path, content))


def test_files_over_the_size_limit_are_refused(tmp_path):
    path = write(tmp_path, "case,activity,timestamp\n1,a,2024-01-01\n")
    with pytest.raises(EventLogError, match="refused"):
        read_csv_log(path, max_bytes=10)


def test_a_missing_file_is_an_error_not_a_traceback(tmp_path):
    with pytest.raises(EventLogError, match="cannot read"):
        read_csv_log(tmp_path / "nope.csv")


VALID = (
    b"case,activity,timestamp,resource\n"
    b"1,register,2024-01-01 10:00:00+01:00,ann\n"
    b"1,check,2024-01-02 11:00:00+01:00,bob\n"
    b"2,register,2024-01-03 09:00:00+01:00,ann\n"
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(VALID) - 1),
            st.sampled_from(["delete", "insert", "replace"]),
            st.binary(min_size=1, max_size=4)
            | st.sampled_from([b",", b"\n", b'"', b";", b"\x00", b"\xc3", b"T", b"+99:99"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_files_are_read_or_refused_with_a_clear_error(tmp_path, mutations):
    path = write(tmp_path, mutate(VALID, mutations), name="mutated.csv")
    try:
        log = read_csv_log(path)
    except EventLogError as exc:
        assert str(exc).startswith(str(path))
        assert "\n" not in str(exc)
    else:
        assert len(log) >= 1
        assert log.frame["time"].null_count() == 0
