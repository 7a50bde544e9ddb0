"""Discovery agrees with pm4py 2.7 on every corpus log (tests/data/eventlogs/*.expected.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from workflow.interchange.discovery import discover, facts_json
from workflow.interchange.eventlog_csv import read_csv_log
from workflow.interchange.eventlog_xes import read_xes_log

DATA = Path(__file__).parent / "data" / "eventlogs"
LOGS = ["running-example.csv", "running-example.xes", "receipt.csv", "roadtraffic100traces.xes"]
EXACT = ["events", "cases", "activities", "start_activities", "end_activities", "dfg", "variants"]
TIMED = ["performance_dfg_mean_s", "performance_dfg_median_s"]


def read(name: str):
    path = DATA / name
    return read_xes_log(path) if name.endswith(".xes") else read_csv_log(path)


@pytest.fixture(scope="module", params=LOGS)
def pair(request):
    expected = json.loads((DATA / f"{request.param}.expected.json").read_text(encoding="utf-8"))
    return facts_json(discover(read(request.param))), expected


def test_facts_have_exactly_the_keys_of_the_reference_files(pair):
    got, expected = pair
    assert set(got) == set(expected)


@pytest.mark.parametrize("key", EXACT)
def test_counts_equal_pm4py(pair, key):
    got, expected = pair
    assert got[key] == expected[key]


@pytest.mark.parametrize("key", TIMED)
def test_times_between_activities_equal_pm4py(pair, key):
    got, expected = pair
    assert [row[:2] for row in got[key]] == [row[:2] for row in expected[key]]
    for (a, b, value), (_, _, reference) in zip(got[key], expected[key], strict=True):
        assert math.isclose(value, reference, rel_tol=1e-6, abs_tol=1e-9), (a, b)


def test_csv_and_xes_of_the_running_example_give_the_same_facts():
    csv_facts = facts_json(discover(read("running-example.csv")))
    xes_facts = facts_json(discover(read("running-example.xes")))
    assert {**csv_facts, "source": ""} == {**xes_facts, "source": ""}
