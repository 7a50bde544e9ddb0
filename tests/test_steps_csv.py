"""CSV step lists: what a spreadsheet user writes becomes a valid process, every shipped
process survives export and import, and exported cells can never run as formulas."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest

from workflow.errors import ModelError
from workflow.interchange.steps_csv import (
    COLUMNS,
    looks_like_step_list,
    neutralise,
    read_steps_csv,
    write_steps_csv,
)
from workflow.model import Flow, Lane, Process, Step
from workflow.vocabulary import LaneKind, Perspective, StepKind, ValueClass, Waste
from workflow.yaml_format import load_model

MODELS = Path(__file__).resolve().parent.parent / "process_models"
SHIPPED = [
    (path.name, p) for path in sorted(MODELS.glob("*.yaml")) for p in load_model(path).processes
]


def _csv(text: str) -> bytes:
    return text.strip().encode("utf-8") + b"\n"


def _without_signals(process: Process) -> tuple:
    """The process without people's signals and lanes no step uses (a step list has neither)."""
    graph = process.graph.copy()
    for _node, data in graph.nodes(data=True):
        data["step"] = replace(data["step"], flags=(), ces=())
    used = {step.lane for step in process.steps()}
    lanes = tuple(lane for lane in process.lanes if lane.id in used)
    return replace(process.with_graph(graph), lanes=lanes).fingerprint()


def test_a_plain_list_of_names_becomes_a_sequence_from_start_to_end():
    process = read_steps_csv(_csv("name\nReceive the form\nCheck it\nFile it"), "plain.csv")
    assert [s.name for s in process.steps()] == [
        "Start",
        "Receive the form",
        "Check it",
        "File it",
        "Done",
    ]
    assert list(process.graph.edges) == [
        ("start", "receive-the-form"),
        ("receive-the-form", "check-it"),
        ("check-it", "file-it"),
        ("file-it", "end"),
    ]
    assert process.name == "Imported steps"


def test_next_names_branches_with_probabilities_labels_and_rework():
    data = _csv(
        """
id,name,kind,lane,touch_minutes,next
check,Check the claim,decision,Claims desk,10,pay=0.9 (complete); ask=10% (incomplete)
ask,Ask for the missing papers,task,Claims desk,5,check rework
pay,Pay the claim,task,Finance,3,
"""
    )
    process = read_steps_csv(data, "claims.csv", name="Claims")
    assert process.flow("check", "pay") == Flow(probability=0.9, label="complete")
    assert process.flow("check", "ask") == Flow(probability=0.1, label="incomplete")
    assert process.flow("ask", "check") == Flow(rework=True)
    assert process.flow("pay", "end") == Flow()
    assert process.step("check").touch_minutes == 10
    assert [lane.name for lane in process.lanes] == ["Claims desk", "Finance"]
    assert process.step("pay").lane == "finance"
    assert process.id == "claims" and process.name == "Claims"


def test_targets_may_be_named_by_step_name_and_numbers_may_use_a_decimal_comma():
    data = _csv(
        """
name;touch_minutes;next
Write the letter;2,5;Send it
Send it;1;
"""
    )
    process = read_steps_csv(data, "semicolons.csv")
    assert process.step("write-the-letter").touch_minutes == 2.5
    assert ("write-the-letter", "send-it") in process.graph.edges


def test_attributes_with_word_lists_are_read():
    data = _csv(
        """
name,value_class,waste,systems,customer_value,pct_complete_accurate,lane,lane_kind,lane_cost_per_hour
Re-key the form,NVA,extra processing; defects,CRM; ERP,0,80,Back office,team,40
"""
    )
    step = read_steps_csv(data).step("re-key-the-form")
    assert step.value_class is ValueClass.NVA
    assert step.waste == (Waste.EXTRA_PROCESSING, Waste.DEFECTS)
    assert step.systems == ("CRM", "ERP")
    assert step.pct_complete_accurate == 80
    assert read_steps_csv(data).lanes == (Lane("back-office", "Back office", LaneKind.TEAM, 40.0),)


def test_every_wrong_cell_is_reported_with_its_row_and_column():
    data = _csv(
        """
name,kind,touch_minutes,next
Check,decision,ten,Pay=0.5; Nowhere
Pay,sorting,1,
"""
    )
    with pytest.raises(ModelError) as caught:
        read_steps_csv(data, "bad.csv")
    lines = caught.value.lines()
    assert "bad.csv: row 2, column 'touch_minutes': must be a number (got 'ten')" in lines
    assert any("row 2, column 'next': there is no step 'Nowhere'" in line for line in lines)
    assert any("row 3, column 'kind': must be one of start, end, task" in line for line in lines)


def test_a_process_that_cannot_be_used_is_refused_naming_the_row_of_the_step():
    data = _csv("id,name,kind,next\ncheck,Check,decision,a=0.5; b=0.2\na,A,task,\nb,B,task,")
    with pytest.raises(ModelError) as caught:
        read_steps_csv(data, "sums.csv")
    assert "row 2 (check)" in str(caught.value)
    assert "add up to 0.7, not 1" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"activity,touch\n", "needs a 'name' column"),
        (b"name\n", "has a header but no steps"),
        ("name\nCaf\u00e9\n".encode("latin-1"), "is not UTF-8 text"),
        (b"name,id\nA,bad id!\n", "column 'id': use letters, digits"),
        (b"name,id\nA,x\nB,x\n", "'x' is also the id of row 2"),
        (b"x" * (5 * 1024 * 1024 + 1), "step lists over 5 MiB are refused"),
    ],
)
def test_broken_files_are_refused_with_a_clear_message(data, message):
    with pytest.raises(ModelError) as caught:
        read_steps_csv(data, "broken.csv")
    assert message in str(caught.value)


@pytest.mark.parametrize(("source", "process"), SHIPPED, ids=[f"{s}:{p.id}" for s, p in SHIPPED])
def test_every_shipped_process_survives_export_and_import(source, process):
    again = read_steps_csv(write_steps_csv(process).encode("utf-8"), source, process_id=process.id)
    assert _without_signals(again) == _without_signals(process)


def test_the_export_is_one_row_per_step_under_the_documented_header():
    process = load_model(MODELS / "insurance_claim.yaml").processes[0]
    text = write_steps_csv(process)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert tuple(rows[0]) == COLUMNS
    assert [row[0] for row in rows[1:]] == [step.id for step in process.steps()]


@pytest.mark.parametrize(
    "hostile",
    ['=HYPERLINK("http://evil.example")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"],
)
def test_cells_that_a_spreadsheet_would_run_are_written_as_text(hostile):
    process = Process.build(
        "p",
        [
            Step("s", "Start", StepKind.START),
            Step("t", hostile, lane="l", description=hostile, systems=(hostile,)),
            Step("e", "Done", StepKind.END),
        ],
        [("s", "t"), ("t", "e", Flow(label=hostile))],
        name=hostile,
        lanes=[Lane("l", hostile)],
    )
    text = write_steps_csv(process)
    cells = [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]
    assert cells, text
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
    again = read_steps_csv(text.encode("utf-8"), "hostile.csv", process_id="p")
    visible = hostile.strip()  # cells are read without surrounding white space
    assert again.step("t").name == visible
    assert again.step("t").description == visible
    assert again.name == visible
    assert again.lanes[0].name == visible


def test_neutralise_leaves_ordinary_text_alone():
    assert neutralise("Check the claim") == "Check the claim"
    assert neutralise("3 days") == "3 days"
    assert neutralise("=1+1") == "'=1+1"


def test_a_step_list_header_is_told_apart_from_an_event_log_header():
    assert looks_like_step_list(b"\xef\xbb\xbfid,name,kind,next\r\nstart,Start,start,x\r\n")
    assert looks_like_step_list(b"name;lane;touch_minutes\n")
    assert not looks_like_step_list(b"case_id,activity,timestamp,resource\n1,a,2024-01-01,x\n")


def test_perspective_and_yearly_cases_come_from_the_first_row_unless_given():
    data = _csv(
        "name,process_name,process_perspective,process_cases_per_year\n"
        "Order online,Web shop,customer_journey,12000\nWait for the parcel,,,"
    )
    process = read_steps_csv(data)
    assert (process.name, process.perspective, process.volume) == (
        "Web shop",
        Perspective.CUSTOMER_JOURNEY,
        12000,
    )
    forced = read_steps_csv(data, name="Shop", perspective=Perspective.EMPLOYEE_PROCESS)
    assert (forced.name, forced.perspective) == ("Shop", Perspective.EMPLOYEE_PROCESS)
