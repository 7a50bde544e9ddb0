"""Reading BPMN 2.0 files: the MIWG corpus, the mapping, repairs, hostile XML and the CLI."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from workflow.cli import run_reporting_errors
from workflow.errors import ModelError
from workflow.interchange import bpmn_cli
from workflow.interchange.bpmn_import import import_bpmn, load_bpmn
from workflow.interchange.bpmn_names import BPMN, FLOW_NODES, is_customer_name, leanlane_id
from workflow.interchange.safe_xml import MAX_BYTES, XmlRefused
from workflow.validate import ID_PATTERN, check_model
from workflow.vocabulary import LaneKind, Perspective, StepKind
from workflow.yaml_format import loads_model

DATA = Path(__file__).parent / "data" / "bpmn"
CORPUS = sorted((DATA / "miwg-reference").glob("*.bpmn")) + sorted(
    (DATA / "bpmn-io-exports").glob("*.bpmn")
)
COUNT_KEYS = ("flow_nodes", "sequence_flows", "lanes", "pools", "message_flows")


def file_counts(path: Path) -> dict[str, int]:
    """The file's own numbers, counted independently of the importer."""
    tree = etree.parse(str(path))
    counts = dict.fromkeys(COUNT_KEYS, 0)
    for element in tree.iter():
        if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{BPMN}}}"):
            continue
        name = etree.QName(element).localname
        if name in FLOW_NODES:
            counts["flow_nodes"] += 1
        elif name == "sequenceFlow":
            counts["sequence_flows"] += 1
        elif name == "lane":
            counts["lanes"] += 1
        elif name == "participant":
            counts["pools"] += 1
        elif name == "messageFlow":
            counts["message_flows"] += 1
    return counts


def bpmn(body: str, collaboration: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{BPMN}" id="d" '
        f'targetNamespace="urn:test">{collaboration}{body}</definitions>'
    )


def steps_named(result, name):
    return [s for p in result.model.processes for s in p.steps() if s.name == name]


# --- the corpus -----------------------------------------------------------------------------


def test_the_corpus_has_every_miwg_file_in_both_serialisations():
    assert len(CORPUS) == 16


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_corpus_file_imports_with_the_files_counts_and_a_valid_model(path):
    result = load_bpmn(path)
    assert {k: result.summary()[k] for k in COUNT_KEYS} == file_counts(path)
    assert check_model(result.model) == []
    assert all(isinstance(w, str) and w for w in result.warnings)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_task_event_and_gateway_of_a_corpus_file_becomes_a_step(path):
    result = load_bpmn(path)
    tree = etree.parse(str(path))
    expected = 0
    for element in tree.iter(f"{{{BPMN}}}*"):
        name = etree.QName(element).localname
        if (
            name in FLOW_NODES
            and name != "boundaryEvent"
            and element.get("triggeredByEvent") != "true"
            and element.get("isForCompensation") != "true"
        ):
            expected += 1
    added = sum(
        1
        for p in result.model.processes
        for s in p.steps()
        if s.name in ("Start", "End") and s.id.startswith(("start", "end"))
    )
    steps = sum(len(p) for p in result.model.processes)
    split_gateways = sum(
        1 for p in result.model.processes for s in p.steps() if s.id.endswith(".split")
    )
    assert steps - added - split_gateways == expected


def test_a_simple_sequence_keeps_its_names_and_order():
    result = load_bpmn(DATA / "miwg-reference" / "A.1.0.bpmn")
    (process,) = result.model.processes
    kinds = [s.kind for s in process.steps()]
    assert kinds.count(StepKind.START) == 1 and kinds.count(StepKind.END) == 1
    assert sorted(s.name for s in process.steps() if s.kind is StepKind.TASK) == [
        "Task 1",
        "Task 2",
        "Task 3",
    ]
    assert result.warnings == ()


def test_exclusive_gateways_become_decisions_split_evenly_with_one_warning():
    result = load_bpmn(DATA / "miwg-reference" / "A.2.0.bpmn")
    (process,) = result.model.processes
    decisions = [s.id for s in process.steps() if s.kind is StepKind.DECISION]
    assert decisions
    split = [d for d in decisions if process.graph.out_degree(d) > 1]
    for decision in split:
        shares = [process.flow(decision, t).probability for t in process.graph.succ[decision]]
        assert shares == pytest.approx([1 / len(shares)] * len(shares))
    assert sum("split evenly" in w for w in result.warnings) == 1


def test_conditions_become_flow_labels():
    result = load_bpmn(DATA / "miwg-reference" / "A.2.1.bpmn")
    labels = {f.label for _, _, f in result.model.processes[0].flows()}
    assert any(label for label in labels)


def test_boundary_events_become_exception_flows_from_their_host():
    result = load_bpmn(DATA / "bpmn-io-exports" / "A.3.0-export.bpmn")
    (process,) = result.model.processes
    host = next(s for s in process.steps() if s.kind is StepKind.SUBPROCESS)
    out = list(process.graph.succ[host.id])
    assert len(out) == 3  # the normal way on and the two boundary events
    labels = {process.flow(host.id, t).label for t in out}
    assert any("Message" in label for label in labels)
    assert any("Escalation" in label for label in labels)
    assert any("non-interrupting" in w for w in result.warnings)


def test_lanes_and_pools_become_lanes_and_processes():
    result = load_bpmn(DATA / "miwg-reference" / "A.4.1.bpmn")
    names = {lane.name.strip() for p in result.model.processes for lane in p.lanes}
    assert {"Lane 1", "Lane 2"} <= names
    pools = {p.name for p in result.model.processes}
    assert len(pools) >= 2


def test_expanded_sub_processes_keep_a_step_and_their_content_becomes_a_process():
    result = load_bpmn(DATA / "miwg-reference" / "A.4.0.bpmn")
    by_name = {p.name: p for p in result.model.processes}
    assert "Expanded Sub-Process 1" in by_name
    inner = by_name["Expanded Sub-Process 1"]
    (step,) = steps_named(result, "Expanded Sub-Process 1")
    assert step.kind is StepKind.SUBPROCESS
    assert f"process {inner.id!r}" in step.description


def test_service_tasks_are_system_steps_and_documentation_is_the_description():
    result = load_bpmn(DATA / "miwg-reference" / "B.2.0.bpmn")
    kinds = {s.kind for p in result.model.processes for s in p.steps()}
    assert StepKind.SYSTEM in kinds and StepKind.WAIT in kinds and StepKind.HANDOFF in kinds
    text = bpmn(
        '<process id="p"><startEvent id="s"/><task id="t" name="Check">'
        "<documentation>Look at &lt;every&gt; page</documentation></task>"
        '<endEvent id="e"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        '<sequenceFlow id="f2" sourceRef="t" targetRef="e"/></process>'
    )
    (step,) = steps_named(import_bpmn(text), "Check")
    assert step.description == "Look at <every> page"


TASK_TYPES = {
    "task": StepKind.TASK,
    "userTask": StepKind.TASK,
    "manualTask": StepKind.TASK,
    "serviceTask": StepKind.SYSTEM,
    "scriptTask": StepKind.SYSTEM,
    "businessRuleTask": StepKind.SYSTEM,
    "sendTask": StepKind.HANDOFF,
    "receiveTask": StepKind.WAIT,
    "callActivity": StepKind.SUBPROCESS,
    "subProcess": StepKind.SUBPROCESS,
}


@pytest.mark.parametrize("element, kind", TASK_TYPES.items())
def test_each_task_type_becomes_its_step_kind(element, kind):
    text = bpmn(
        f'<process id="p"><startEvent id="s"/><{element} id="t" name="Work"/>'
        '<endEvent id="e"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        '<sequenceFlow id="f2" sourceRef="t" targetRef="e"/></process>'
    )
    (step,) = steps_named(import_bpmn(text), "Work")
    assert step.kind is kind


def test_a_customer_pool_becomes_a_journey_linked_to_the_process_by_message_flows():
    collaboration = (
        '<collaboration id="c"><participant id="pc" name="Customer" processRef="pj"/>'
        '<participant id="pb" name="Bank" processRef="pe"/>'
        '<messageFlow id="m1" name="Application" sourceRef="apply" targetRef="check"/>'
        '<messageFlow id="m2" sourceRef="decide" targetRef="hear"/></collaboration>'
    )
    body = (
        '<process id="pj"><startEvent id="s1"/><task id="apply" name="Apply"/>'
        '<intermediateCatchEvent id="hear" name="Hear back"><messageEventDefinition/>'
        '</intermediateCatchEvent><endEvent id="e1"/>'
        '<sequenceFlow id="a" sourceRef="s1" targetRef="apply"/>'
        '<sequenceFlow id="b" sourceRef="apply" targetRef="hear"/>'
        '<sequenceFlow id="c1" sourceRef="hear" targetRef="e1"/></process>'
        '<process id="pe"><startEvent id="s2"/><userTask id="check" name="Check"/>'
        '<task id="decide" name="Decide"/><endEvent id="e2"/>'
        '<sequenceFlow id="d" sourceRef="s2" targetRef="check"/>'
        '<sequenceFlow id="e" sourceRef="check" targetRef="decide"/>'
        '<sequenceFlow id="f" sourceRef="decide" targetRef="e2"/></process>'
    )
    result = import_bpmn(bpmn(body, collaboration))
    journey, process = result.model.processes
    assert journey.perspective is Perspective.CUSTOMER_JOURNEY
    assert process.perspective is Perspective.EMPLOYEE_PROCESS
    assert journey.lanes[0].kind is LaneKind.CUSTOMER and journey.lanes[0].name == "Customer"
    assert process.lanes[0].kind is LaneKind.ROLE and process.lanes[0].name == "Bank"
    assert {(link.journey_step, link.step) for link in result.model.links} == {
        ("apply", "check"),
        ("hear", "decide"),
    }
    assert result.counts.pools == 2 and result.counts.message_flows == 2


def test_message_flows_between_two_employee_pools_become_data_handed_over():
    collaboration = (
        '<collaboration id="c"><participant id="pa" name="Sales" processRef="a"/>'
        '<participant id="pb" name="Billing" processRef="b"/>'
        '<messageFlow id="m" name="Order" sourceRef="ta" targetRef="tb"/></collaboration>'
    )
    body = "".join(f'<process id="{p}"><task id="t{p}" name="Work {p}"/></process>' for p in "ab")
    result = import_bpmn(bpmn(body, collaboration))
    (sender,) = steps_named(result, "Work a")
    (receiver,) = steps_named(result, "Work b")
    assert sender.outputs == ("message: Order",) and receiver.inputs == ("message: Order",)
    assert any("message flow 'Order'" in w for w in result.warnings)


@pytest.mark.parametrize(
    "name",
    ["Customer", "Clients", "Policyholder", "applicant", "Citizens", "Patient", "The customers"],
)
def test_customer_names_are_recognised(name):
    assert is_customer_name(name)


@pytest.mark.parametrize(
    "name", ["Claims team", "Customer service agent " * 0 + "Back office", "Clientele"]
)
def test_other_names_are_not_the_customer(name):
    assert not is_customer_name(name)


def test_a_lane_named_after_the_customer_becomes_a_customer_lane():
    body = (
        '<process id="p"><laneSet id="ls"><lane id="l1" name="Patient">'
        "<flowNodeRef>s</flowNodeRef><flowNodeRef>t</flowNodeRef></lane>"
        '<lane id="l2" name="Nurse"><flowNodeRef>e</flowNodeRef></lane></laneSet>'
        '<startEvent id="s"/><task id="t" name="Arrive"/><endEvent id="e"/>'
        '<sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        '<sequenceFlow id="f2" sourceRef="t" targetRef="e"/></process>'
    )
    (process,) = import_bpmn(bpmn(body)).model.processes
    assert {lane.name: lane.kind for lane in process.lanes} == {
        "Patient": LaneKind.CUSTOMER,
        "Nurse": LaneKind.ROLE,
    }
    assert process.step("t").lane == "l1"


# --- repairs ---------------------------------------------------------------------------------


def test_several_start_events_get_one_new_start_with_a_warning():
    body = (
        '<process id="p"><startEvent id="s1" name="By mail"/><startEvent id="s2" '
        'name="By phone"/><task id="t" name="Register"/><endEvent id="e"/>'
        '<sequenceFlow id="f1" sourceRef="s1" targetRef="t"/>'
        '<sequenceFlow id="f2" sourceRef="s2" targetRef="t"/>'
        '<sequenceFlow id="f3" sourceRef="t" targetRef="e"/></process>'
    )
    result = import_bpmn(bpmn(body))
    (process,) = result.model.processes
    assert check_model(result.model) == []
    start = process.step(process.start())
    assert start.name == "Start" and set(process.graph.succ[start.id]) == {"s1", "s2"}
    assert process.step("s1").kind is StepKind.WAIT
    assert any("2 start events" in w for w in result.warnings)


def test_activities_without_flows_are_joined_to_a_start_and_an_end():
    body = '<process id="p"><task id="a" name="A"/><task id="b" name="B"/></process>'
    result = import_bpmn(bpmn(body))
    assert check_model(result.model) == []
    assert any("no start event" in w for w in result.warnings)
    assert sum("has no way out" in w for w in result.warnings) == 2


def test_a_closed_loop_is_given_a_way_in_and_out():
    body = (
        '<process id="p"><startEvent id="s"/><endEvent id="e"/><task id="a" name="A"/>'
        '<task id="b" name="B"/><sequenceFlow id="f0" sourceRef="s" targetRef="e"/>'
        '<sequenceFlow id="f1" sourceRef="a" targetRef="b"/>'
        '<sequenceFlow id="f2" sourceRef="b" targetRef="a"/></process>'
    )
    result = import_bpmn(bpmn(body))
    assert check_model(result.model) == []
    assert any("cannot reach" in w for w in result.warnings)
    assert any("loop with no way out" in w for w in result.warnings)


def test_a_parallel_split_that_never_joins_is_read_as_a_choice():
    body = (
        '<process id="p"><startEvent id="s"/><parallelGateway id="g"/>'
        '<task id="a" name="A"/><task id="b" name="B"/><endEvent id="e1"/>'
        '<endEvent id="e2"/><sequenceFlow id="f0" sourceRef="s" targetRef="g"/>'
        '<sequenceFlow id="f1" sourceRef="g" targetRef="a"/>'
        '<sequenceFlow id="f2" sourceRef="g" targetRef="b"/>'
        '<sequenceFlow id="f3" sourceRef="a" targetRef="e1"/>'
        '<sequenceFlow id="f4" sourceRef="b" targetRef="e2"/></process>'
    )
    result = import_bpmn(bpmn(body))
    (process,) = result.model.processes
    assert process.step("g").kind is StepKind.DECISION
    assert any("does not form a closed parallel block" in w for w in result.warnings)


def test_a_closed_parallel_block_stays_parallel():
    body = (
        '<process id="p"><startEvent id="s"/><parallelGateway id="g"/>'
        '<task id="a" name="A"/><task id="b" name="B"/><parallelGateway id="j"/>'
        '<endEvent id="e"/><sequenceFlow id="f0" sourceRef="s" targetRef="g"/>'
        '<sequenceFlow id="f1" sourceRef="g" targetRef="a"/>'
        '<sequenceFlow id="f2" sourceRef="g" targetRef="b"/>'
        '<sequenceFlow id="f3" sourceRef="a" targetRef="j"/>'
        '<sequenceFlow id="f4" sourceRef="b" targetRef="j"/>'
        '<sequenceFlow id="f5" sourceRef="j" targetRef="e"/></process>'
    )
    result = import_bpmn(bpmn(body))
    (process,) = result.model.processes
    assert process.step("g").kind is StepKind.PARALLEL_SPLIT
    assert process.step("j").kind is StepKind.PARALLEL_JOIN
    assert result.warnings == ()


def test_odd_bpmn_ids_become_valid_unique_leanlane_ids():
    taken: set[str] = set()
    ids = [leanlane_id(raw, taken) for raw in ("_1", "_1", "-x", "ä" * 3, "a" * 300, "")]
    assert all(ID_PATTERN.match(i) for i in ids)
    assert len(set(ids)) == len(ids)


# --- hostile and wrong input -----------------------------------------------------------------

HOSTILE = {
    "external entity": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM '
    b'"file:///etc/passwd">]><definitions xmlns="' + BPMN.encode() + b'">&x;</definitions>',
    "billion laughs": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b"<l>&c;</l>",
    "any DTD": b'<!DOCTYPE definitions SYSTEM "http://example.com/x.dtd"><definitions/>',
    "deep nesting": b"<definitions>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</definitions>",
    "not XML": b"this is not xml at all",
    "binary": bytes(range(256)),
    "empty": b"",
    "wrong root": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    "not BPMN": b'<definitions xmlns="http://example.com/other"/>',
    "no process": b'<definitions xmlns="' + BPMN.encode() + b'"/>',
    "undefined entity": b'<definitions xmlns="' + BPMN.encode() + b'">&nope;</definitions>',
}


@pytest.mark.parametrize("data", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_or_wrong_input_is_refused_with_a_clear_error(data):
    with pytest.raises(ModelError) as caught:
        import_bpmn(data, "upload.bpmn")
    message = str(caught.value)
    assert message.startswith("upload.bpmn: ") and len(message) < 300
    assert "Traceback" not in message and "passwd" not in message.replace("file:///", "")


def test_a_dtd_is_refused_by_name():
    with pytest.raises(XmlRefused, match="DTD"):
        import_bpmn(HOSTILE["external entity"])


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.bpmn"
    with big.open("wb") as out:
        out.truncate(MAX_BYTES + 1)
    with pytest.raises(XmlRefused, match="MiB"):
        load_bpmn(big)
    with pytest.raises(XmlRefused, match="MiB"):
        import_bpmn(b" " * (MAX_BYTES + 1))


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="cannot read"):
        load_bpmn(tmp_path / "missing.bpmn")


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CORPUS_BYTES = [path.read_bytes() for path in CORPUS]


def _must_be_clear(data: bytes) -> None:
    try:
        result = import_bpmn(data, "fuzz.bpmn")
    except ModelError as exc:
        assert str(exc).startswith("fuzz.bpmn: ")
        return
    assert check_model(result.model) == []


@FUZZ
@given(
    st.sampled_from(CORPUS_BYTES),
    st.integers(0, 10**9),
    st.integers(1, 400),
    st.binary(max_size=40),
)
def test_byte_mutations_of_corpus_files_give_a_valid_model_or_a_clear_error(data, at, cut, junk):
    at %= len(data)
    _must_be_clear(data[:at] + junk + data[at + cut :])


def _mutate(tree: etree._ElementTree, rng: random.Random) -> None:
    elements = [e for e in tree.iter() if isinstance(e.tag, str)][1:]
    ids = [e.get("id") for e in elements if e.get("id")]
    for _ in range(rng.randint(1, 8)):
        if not elements:
            return
        element = rng.choice(elements)
        action = rng.randrange(5)
        parent = element.getparent()
        if action == 0 and parent is not None:
            parent.remove(element)
            elements = [e for e in tree.iter() if isinstance(e.tag, str)][1:]
        elif action == 1 and ids:
            attribute = rng.choice(
                ["sourceRef", "targetRef", "attachedToRef", "processRef", "id", "default"]
            )
            element.set(attribute, rng.choice([*ids, "", "missing", "1bad id"]))
        elif action == 2 and parent is not None:
            parent.append(element)  # moves it: order and scope change
        elif action == 3:
            element.set("name", rng.choice(["", " ", "Customer", "<x>", "a" * 500]))
        elif action == 4 and parent is not None:
            other = rng.choice(elements)
            if other is not element and element not in other.iterancestors():
                other.append(element)


@FUZZ
@given(st.sampled_from(CORPUS), st.randoms(use_true_random=False))
def test_structural_mutations_of_corpus_files_give_a_valid_model_or_a_clear_error(path, rng):
    tree = etree.parse(str(path))
    _mutate(tree, rng)
    _must_be_clear(etree.tostring(tree))


# --- the command -----------------------------------------------------------------------------


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="leanlane")
    bpmn_cli.add_commands(parser.add_subparsers(dest="command", required=True))
    return run_reporting_errors(lambda: bpmn_cli.run(parser.parse_args(list(argv))))


def test_import_bpmn_json_prints_exactly_the_counts_and_warnings(capsys):
    path = DATA / "miwg-reference" / "B.2.0.bpmn"
    assert run_cli("import-bpmn", str(path), "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    assert list(printed) == [*COUNT_KEYS, "warnings"]
    assert {k: printed[k] for k in COUNT_KEYS} == file_counts(path)
    assert all(isinstance(w, str) for w in printed["warnings"])


def test_import_bpmn_writes_a_yaml_model_that_loads(tmp_path, capsys):
    output = tmp_path / "out.yaml"
    assert (
        run_cli(
            "import-bpmn", str(DATA / "bpmn-io-exports" / "B.1.0-export.bpmn"), "-o", str(output)
        )
        == 0
    )
    model = loads_model(output.read_text())
    assert check_model(model) == []
    out = capsys.readouterr().out
    assert "26 flow nodes" in out and "warning:" in out


def test_import_bpmn_needs_an_output_or_json(capsys):
    assert run_cli("import-bpmn", str(DATA / "miwg-reference" / "A.1.0.bpmn")) == 2
    assert capsys.readouterr().err.startswith("leanlane: error: import-bpmn: give -o")


def test_import_bpmn_refuses_a_hostile_file_and_writes_nothing(tmp_path, capsys):
    upload = tmp_path / "evil.bpmn"
    upload.write_bytes(HOSTILE["billion laughs"])
    output = tmp_path / "out.yaml"
    assert run_cli("import-bpmn", str(upload), "-o", str(output)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"leanlane: error: {upload}: declares a document type (DTD)")
    assert not output.exists()
