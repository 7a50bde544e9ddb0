"""Writing BPMN 2.0: schema-valid, laid out, escaped, and read back without loss."""

from __future__ import annotations

import argparse
import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from workflow.cli import run_reporting_errors
from workflow.generate import random_process
from workflow.interchange import bpmn_cli
from workflow.interchange.bpmn_export import export_bpmn
from workflow.interchange.bpmn_import import import_bpmn
from workflow.interchange.bpmn_names import BPMN, BPMNDI, DC, DI
from workflow.model import Process, ProcessModel
from workflow.yaml_format import load_model

DATA = Path(__file__).parent / "data" / "bpmn"
MODELS = sorted((Path(__file__).parent.parent / "process_models").glob("*.yaml"))
SCHEMA = etree.XMLSchema(etree.parse(str(DATA / "xsd" / "BPMN20.xsd")))


def assert_same_process(before: Process, after: Process) -> None:
    assert after.fingerprint() == before.fingerprint()


def assert_valid_bpmn(data: bytes) -> etree._Element:
    document = etree.fromstring(data)
    assert SCHEMA.validate(document), SCHEMA.error_log.last_error
    return document


def bounds(shape: etree._Element) -> tuple[float, float, float, float]:
    box = shape.find(f"{{{DC}}}Bounds")
    return tuple(float(box.get(k)) for k in ("x", "y", "width", "height"))


def test_every_shipped_model_is_tested():
    assert len(MODELS) >= 6


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_every_shipped_model_exports_to_schema_valid_bpmn(path):
    assert_valid_bpmn(export_bpmn(load_model(path)))


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_every_shipped_model_survives_the_round_trip(path):
    model = load_model(path)
    result = import_bpmn(export_bpmn(model))
    assert result.warnings == ()
    assert [p.id for p in result.model.processes] == [p.id for p in model.processes]
    for before, after in zip(model.processes, result.model.processes, strict=True):
        assert_same_process(before, after)
    assert set(result.model.links) == set(model.links)
    assert (result.model.name, result.model.description) == (model.name, model.description)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_every_step_flow_lane_and_pool_has_a_place_in_the_diagram(path):
    model = load_model(path)
    document = assert_valid_bpmn(export_bpmn(model))
    shapes = {s.get("bpmnElement"): s for s in document.iter(f"{{{BPMNDI}}}BPMNShape")}
    edges = {e.get("bpmnElement"): e for e in document.iter(f"{{{BPMNDI}}}BPMNEdge")}
    for kind in (
        "participant",
        "lane",
        "task",
        "startEvent",
        "endEvent",
        "exclusiveGateway",
        "parallelGateway",
        "userTask",
        "serviceTask",
    ):
        for element in document.iter(f"{{{BPMN}}}{kind}"):
            assert element.get("id") in shapes, element.get("id")
    for kind in ("sequenceFlow", "messageFlow"):
        for element in document.iter(f"{{{BPMN}}}{kind}"):
            waypoints = edges[element.get("id")].findall(f"{{{DI}}}waypoint")
            assert len(waypoints) >= 2
    lanes = {
        lane.get("id"): bounds(shapes[lane.get("id")]) for lane in document.iter(f"{{{BPMN}}}lane")
    }
    for lane in document.iter(f"{{{BPMN}}}lane"):
        lx, ly, lw, lh = lanes[lane.get("id")]
        for ref in lane.findall(f"{{{BPMN}}}flowNodeRef"):
            x, y, w, h = bounds(shapes[ref.text])
            assert lx <= x and x + w <= lx + lw and ly <= y and y + h <= ly + lh


def test_the_diagram_plane_shows_the_collaboration_with_one_pool_per_process():
    model = load_model(MODELS[0])
    document = assert_valid_bpmn(export_bpmn(model))
    (plane,) = document.iter(f"{{{BPMNDI}}}BPMNPlane")
    (collaboration,) = document.iter(f"{{{BPMN}}}collaboration")
    assert plane.get("bpmnElement") == collaboration.get("id")
    pools = collaboration.findall(f"{{{BPMN}}}participant")
    assert len(pools) == len(model.processes)
    tops = sorted(
        bounds(next(s for s in plane if s.get("bpmnElement") == p.get("id")))[1] for p in pools
    )
    assert len(set(tops)) == len(tops)  # stacked, not drawn on top of each other


def test_leanlane_figures_travel_in_the_leanlane_namespace():
    model = load_model(DATA.parent.parent.parent / "process_models" / "insurance_claim.yaml")
    text = export_bpmn(model).decode()
    assert 'xmlns:leanlane="urn:leanlane:bpmn:1"' in text
    assert "<leanlane:step " in text and "touchMinutes=" in text and "<leanlane:flag " in text


def test_a_task_that_chooses_writes_conditional_flows():
    model = load_model(MODELS[0])
    document = etree.fromstring(export_bpmn(model))
    conditions = list(document.iter(f"{{{BPMN}}}conditionExpression"))
    assert conditions and all(c.text for c in conditions)


NASTY = 'Check <b onclick="x()">&amp; "quotes" ]]> \x0b\x1b\x00 <!-- --> & <![CDATA[x]]>'


def test_user_text_never_becomes_markup():
    model = load_model(MODELS[0])
    process = model.processes[0]
    step = next(s for s in process.steps() if s.kind.value == "task")
    graph = process.graph.copy()
    graph.nodes[step.id]["step"] = replace(
        step, name=NASTY, description=NASTY, customer_name=NASTY, systems=(NASTY,)
    )
    lane = replace(process.lanes[0], name=NASTY)
    changed = replace(process, graph=graph, name=NASTY, lanes=(lane, *process.lanes[1:]))
    model = replace(model.replace_process(changed), name=NASTY, description=NASTY)
    data = export_bpmn(model)
    document = assert_valid_bpmn(data)
    assert not any(
        etree.QName(e).localname == "b" for e in document.iter() if isinstance(e.tag, str)
    )
    back = import_bpmn(data).model
    clean = NASTY.replace("\x0b", "").replace("\x1b", "").replace("\x00", "")
    again = back.process(process.id)
    assert again.step(step.id).name == clean and again.step(step.id).description == clean
    assert again.step(step.id).systems == (clean,)
    assert again.name == clean and again.lanes[0].name == clean and back.name == clean


def test_one_process_exports_on_its_own():
    process = load_model(MODELS[0]).processes[1]
    result = import_bpmn(export_bpmn(process))
    (again,) = result.model.processes
    assert_same_process(process, again)


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.integers(0, 10**6), st.integers(3, 45), st.integers(1, 5))
def test_generated_processes_survive_the_round_trip_and_validate(seed, size, lanes):
    process = random_process(random.Random(seed), size, lanes=lanes)
    data = export_bpmn(ProcessModel("Generated", (process,)))
    assert_valid_bpmn(data)
    result = import_bpmn(data)
    assert result.warnings == ()
    (again,) = result.model.processes
    assert_same_process(process, again)


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="leanlane")
    bpmn_cli.add_commands(parser.add_subparsers(dest="command", required=True))
    return run_reporting_errors(lambda: bpmn_cli.run(parser.parse_args(list(argv))))


def test_export_bpmn_writes_the_whole_model(tmp_path, capsys):
    output = tmp_path / "model.bpmn"
    assert run_cli("export-bpmn", str(MODELS[0]), "-o", str(output)) == 0
    assert_valid_bpmn(output.read_bytes())
    assert "Wrote 2 process(es)" in capsys.readouterr().out


def test_export_bpmn_writes_one_process(tmp_path):
    model = load_model(MODELS[0])
    output = tmp_path / "one.bpmn"
    assert (
        run_cli(
            "export-bpmn", str(MODELS[0]), "-o", str(output), "--process", model.processes[1].id
        )
        == 0
    )
    assert [p.id for p in import_bpmn(output.read_bytes()).model.processes] == [
        model.processes[1].id
    ]


def test_export_bpmn_names_the_processes_when_one_is_unknown(tmp_path, capsys):
    output = tmp_path / "x.bpmn"
    assert run_cli("export-bpmn", str(MODELS[0]), "-o", str(output), "--process", "nope") == 2
    err = capsys.readouterr().err
    assert err.startswith("leanlane: error: ") and "no process 'nope'" in err
    assert not output.exists()


def test_export_bpmn_reports_a_bad_model_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("leanlane: 1\nname: x\nprocesses: []\n")
    assert run_cli("export-bpmn", str(bad), "-o", str(tmp_path / "x.bpmn")) == 2
    assert capsys.readouterr().err.startswith("leanlane: error: ")
