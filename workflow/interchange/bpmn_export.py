"""Writing a Leanlane process model as BPMN 2.0 XML that opens laid out in a modeller.

Each process becomes a pool (a participant of one collaboration) with its lanes; each step the
BPMN element closest to its kind; each flow a sequence flow, and each service-blueprint link a
message flow from the journey step to the employee step serving it. Diagram interchange
(BPMNDI) places every shape where Leanlane's own swimlane grid
(:mod:`workflow.render.grid`) puts it and routes every edge the grid's way
(:mod:`workflow.render.routing`), so bpmn.io and Camunda Modeler show the same picture as
Leanlane, without a layout pass of their own.

What BPMN has no words for (times, volumes, value classes, wastes, flags, probabilities, rework)
travels in ``extensionElements`` (:mod:`workflow.interchange.bpmn_extensions`), so importing the
file again gives back the same model. User text only ever becomes element text or attribute
values, escaped by the serializer; characters XML 1.0 cannot hold are dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from workflow.interchange.bpmn_extensions import (
    flow_element,
    lane_element,
    process_element,
    step_element,
)
from workflow.interchange.bpmn_names import BPMN, BPMNDI, DC, DI, LEANLANE, XSI
from workflow.model import Process, ProcessModel, Step
from workflow.render.grid import place_section, route_spacing
from workflow.render.routing import Box, route
from workflow.render.steps import process_section
from workflow.vocabulary import StepKind

__all__ = ["ELEMENT_OF_KIND", "export_bpmn"]

#: The BPMN element each step kind is written as (the kind itself travels in the extension).
ELEMENT_OF_KIND: dict[StepKind, str] = {
    StepKind.START: "startEvent",
    StepKind.END: "endEvent",
    StepKind.TASK: "task",
    StepKind.DECISION: "exclusiveGateway",
    StepKind.PARALLEL_SPLIT: "parallelGateway",
    StepKind.PARALLEL_JOIN: "parallelGateway",
    StepKind.WAIT: "receiveTask",
    StepKind.APPROVAL: "userTask",
    StepKind.HANDOFF: "sendTask",
    StepKind.SYSTEM: "serviceTask",
    StepKind.SUBPROCESS: "subProcess",
}
_SIZES = {"event": (36.0, 36.0), "gateway": (50.0, 50.0), "activity": (120.0, 64.0)}
POOL_LABEL = 30.0  # the strip at a pool's left that shows its name
POOL_GAP = 40.0
#: XML 1.0 cannot hold C0 controls other than tab, newline and carriage return, lone
#: surrogates, or U+FFFE/U+FFFF; they are dropped rather than making the file unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _shape_kind(kind: StepKind) -> str:
    element = ELEMENT_OF_KIND[kind]
    if element.endswith("Event"):
        return "event"
    if element.endswith("Gateway"):
        return "gateway"
    return "activity"


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


class _Ids:
    """Document-wide unique XML ids built from Leanlane ids (which are valid XML name parts)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def make(self, prefix: str, *parts: str) -> str:
        base = "_".join((prefix, *parts))
        candidate, n = base, 2
        while candidate in self.taken:
            candidate = f"{base}_{n}"
            n += 1
        self.taken.add(candidate)
        return candidate


def _b(name: str) -> str:
    return f"bpmn:{name}"


def _sub(
    parent: ET.Element, tag: str, attributes: dict[str, str] | None = None, text: str | None = None
) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes or {})
    if text is not None:
        element.text = text
    return element


def _documented(element: ET.Element, text: str) -> None:
    if text:
        _sub(element, _b("documentation"), text=text)


def _extended(element: ET.Element, extension: ET.Element) -> None:
    _sub(element, _b("extensionElements")).append(extension)


@dataclass
class _Placed:
    """A process's pool on the canvas: node boxes and lane stripes, in BPMN coordinates."""

    process: Process
    top: float
    height: float
    boxes: dict[str, Box]
    bands: list[tuple[str | None, float, float]]


def _layout(processes: list[Process]) -> tuple[list[_Placed], float]:
    placed: list[_Placed] = []
    top = 0.0
    width = 0.0
    for process in processes:
        section = process_section(process)
        centres, bands, height, section_width = place_section(section, top)
        boxes = {}
        for key, box in centres.items():
            w, h = _SIZES[_shape_kind(process.step(key).kind)]
            boxes[key] = Box(box.x, box.y, w / 2, h / 2, box.column)
        placed.append(_Placed(process, top, height, boxes, bands))
        width = max(width, section_width)
        top += height + POOL_GAP
    return placed, width


def _bounds(parent: ET.Element, x: float, y: float, w: float, h: float) -> None:
    _sub(
        parent,
        "dc:Bounds",
        {"x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{w:.1f}", "height": f"{h:.1f}"},
    )


def _waypoints(edge: ET.Element, points: list[tuple[float, float]]) -> None:
    for x, y in points:
        _sub(edge, "di:waypoint", {"x": f"{x:.1f}", "y": f"{y:.1f}"})


def _condition_text(process: Process, source: str, target: str) -> str | None:
    """The condition written on a way out of a choice (BPMN reads uncontrolled flows out of an
    activity as parallel, so a choice made by a task is written as conditional flows)."""
    step = process.step(source)
    if process.graph.out_degree(source) < 2 or step.kind is StepKind.PARALLEL_SPLIT:
        return None
    if step.kind in (StepKind.START, StepKind.END):
        return None
    flow = process.flow(source, target)
    if flow.label:
        return flow.label
    if flow.probability is not None:
        return f"{flow.probability:.0%} of cases"
    return None


class _Writer:
    def __init__(self, model: ProcessModel) -> None:
        self.model = model
        self.ids = _Ids()
        self.step_ids: dict[tuple[str, str], str] = {}
        self.flow_ids: dict[tuple[str, str, str], str] = {}
        self.lane_ids: dict[tuple[str, str], str] = {}
        self.pool_ids: dict[str, str] = {}
        self.process_ids: dict[str, str] = {}
        self.link_ids: list[tuple[str, str, str]] = []

    def write(self) -> ET.Element:
        model = self.model
        root = ET.Element(
            _b("definitions"),
            {
                "xmlns:bpmn": BPMN,
                "xmlns:bpmndi": BPMNDI,
                "xmlns:dc": DC,
                "xmlns:di": DI,
                "xmlns:xsi": XSI,
                "xmlns:leanlane": LEANLANE,
                "id": "Definitions_leanlane",
                "name": model.name,
                "targetNamespace": "urn:leanlane:model",
                "exporter": "Leanlane",
                "exporterVersion": "1",
            },
        )
        self.ids.taken.add("Definitions_leanlane")
        order = sorted(model.processes, key=lambda p: not p.is_journey)
        collaboration = _sub(
            root, _b("collaboration"), {"id": self.ids.make("Collaboration", "leanlane")}
        )
        _documented(collaboration, model.description)
        for process in order:
            self.process_ids[process.id] = self.ids.make("Process", process.id)
            self.pool_ids[process.id] = self.ids.make("Participant", process.id)
            _sub(
                collaboration,
                _b("participant"),
                {
                    "id": self.pool_ids[process.id],
                    "name": process.name,
                    "processRef": self.process_ids[process.id],
                },
            )
        for process in order:
            self._process(root, process)
        for link in model.links:
            if (link.journey, link.journey_step) in self.step_ids and (
                link.process,
                link.step,
            ) in self.step_ids:
                flow_id = self.ids.make("ServedBy", link.journey, link.journey_step)
                source = self.step_ids[(link.journey, link.journey_step)]
                target = self.step_ids[(link.process, link.step)]
                _sub(
                    collaboration,
                    _b("messageFlow"),
                    {
                        "id": flow_id,
                        "name": "served by",
                        "sourceRef": source,
                        "targetRef": target,
                    },
                )
                self.link_ids.append((flow_id, source, target))
        self._diagram(root, collaboration.get("id", ""), order)
        return root

    def _process(self, root: ET.Element, process: Process) -> ET.Element:
        element = _sub(
            root,
            _b("process"),
            {
                "id": self.process_ids[process.id],
                "name": process.name,
                "isExecutable": "false",
            },
        )
        _documented(element, process.description)
        _extended(element, process_element(process.id, process.perspective, process.volume))
        for step in process.steps():
            self.step_ids[(process.id, step.id)] = self.ids.make("Step", process.id, step.id)
        for index, (source, target, _) in enumerate(process.flows()):
            self.flow_ids[(process.id, source, target)] = self.ids.make(
                "Flow", process.id, str(index + 1)
            )
        if process.lanes:
            lane_set = _sub(element, _b("laneSet"), {"id": self.ids.make("LaneSet", process.id)})
            for lane in process.lanes:
                lane_id = self.ids.make("Lane", process.id, lane.id)
                self.lane_ids[(process.id, lane.id)] = lane_id
                lane_element_ = _sub(lane_set, _b("lane"), {"id": lane_id, "name": lane.name})
                _documented(lane_element_, lane.description)
                _extended(lane_element_, lane_element(lane))
                for step in process.steps():
                    if step.lane == lane.id:
                        _sub(
                            lane_element_,
                            _b("flowNodeRef"),
                            text=self.step_ids[(process.id, step.id)],
                        )
        for step in process.steps():
            self._step(element, process, step)
        for source, target, flow in process.flows():
            flow_element_ = _sub(
                element,
                _b("sequenceFlow"),
                {
                    "id": self.flow_ids[(process.id, source, target)],
                    "sourceRef": self.step_ids[(process.id, source)],
                    "targetRef": self.step_ids[(process.id, target)],
                },
            )
            if flow.label:
                flow_element_.set("name", flow.label)
            _extended(flow_element_, flow_element(flow))
            condition = _condition_text(process, source, target)
            if condition is not None:
                _sub(
                    flow_element_,
                    _b("conditionExpression"),
                    {"xsi:type": "bpmn:tFormalExpression"},
                    condition,
                )
        return element

    def _step(self, parent: ET.Element, process: Process, step: Step) -> None:
        attributes = {"id": self.step_ids[(process.id, step.id)], "name": step.name}
        element = _sub(parent, _b(ELEMENT_OF_KIND[step.kind]), attributes)
        _documented(element, step.description)
        _extended(element, step_element(step))
        for source in process.graph.pred[step.id]:
            _sub(element, _b("incoming"), text=self.flow_ids[(process.id, source, step.id)])
        for target in process.graph.succ[step.id]:
            _sub(element, _b("outgoing"), text=self.flow_ids[(process.id, step.id, target)])

    # --- diagram interchange -------------------------------------------------------------------
    def _diagram(self, root: ET.Element, collaboration: str, order: list[Process]) -> None:
        diagram = _sub(
            root,
            "bpmndi:BPMNDiagram",
            {"id": self.ids.make("Diagram", "leanlane"), "name": self.model.name},
        )
        plane = _sub(
            diagram,
            "bpmndi:BPMNPlane",
            {"id": self.ids.make("Plane", "leanlane"), "bpmnElement": collaboration},
        )
        placed, width = _layout(order)
        centres: dict[str, Box] = {}
        for pool in placed:
            process = pool.process
            shape = _sub(
                plane,
                "bpmndi:BPMNShape",
                {
                    "id": self.ids.make(self.pool_ids[process.id], "di"),
                    "bpmnElement": self.pool_ids[process.id],
                    "isHorizontal": "true",
                },
            )
            _bounds(shape, 0.0, pool.top, width, pool.height)
            for band, band_top, band_bottom in pool.bands:
                if band is None:
                    continue
                lane_id = self.lane_ids[(process.id, band)]
                shape = _sub(
                    plane,
                    "bpmndi:BPMNShape",
                    {
                        "id": self.ids.make(lane_id, "di"),
                        "bpmnElement": lane_id,
                        "isHorizontal": "true",
                    },
                )
                _bounds(shape, POOL_LABEL, band_top, width - POOL_LABEL, band_bottom - band_top)
            for step in process.steps():
                self._step_shape(plane, process, step, pool.boxes[step.id])
                centres[self.step_ids[(process.id, step.id)]] = pool.boxes[step.id]
            blocked = {(box.column, box.y) for box in pool.boxes.values()}
            for index, (source, target, _) in enumerate(process.flows()):
                path = route(
                    pool.boxes[source],
                    pool.boxes[target],
                    index,
                    **route_spacing(),
                    blocked=blocked,
                )
                flow_id = self.flow_ids[(process.id, source, target)]
                edge = _sub(
                    plane,
                    "bpmndi:BPMNEdge",
                    {"id": self.ids.make(flow_id, "di"), "bpmnElement": flow_id},
                )
                _waypoints(edge, [*path.points[:-1], path.tip])
        for flow_id, source, target in self.link_ids:
            a, b = centres[source], centres[target]
            down = b.y > a.y
            edge = _sub(
                plane,
                "bpmndi:BPMNEdge",
                {"id": self.ids.make(flow_id, "di"), "bpmnElement": flow_id},
            )
            _waypoints(
                edge,
                [
                    (a.x, a.y + (a.half_height if down else -a.half_height)),
                    (b.x, b.y - (b.half_height if down else -b.half_height)),
                ],
            )

    def _step_shape(self, plane: ET.Element, process: Process, step: Step, box: Box) -> None:
        element_id = self.step_ids[(process.id, step.id)]
        attributes = {"id": self.ids.make(element_id, "di"), "bpmnElement": element_id}
        if step.kind is StepKind.DECISION:
            attributes["isMarkerVisible"] = "true"
        if step.kind is StepKind.SUBPROCESS:
            attributes["isExpanded"] = "false"
        shape = _sub(plane, "bpmndi:BPMNShape", attributes)
        _bounds(
            shape,
            box.x - box.half_width,
            box.y - box.half_height,
            2 * box.half_width,
            2 * box.half_height,
        )


def _scrub(root: ET.Element) -> None:
    for element in root.iter():
        if element.text:
            element.text = _clean(element.text)
        for key, value in element.attrib.items():
            element.set(key, _clean(value))


def export_bpmn(model: ProcessModel | Process) -> bytes:
    """A BPMN 2.0 document (UTF-8) of a whole model, or of one process on its own.

    Examples
    --------
    >>> from workflow.model import Process, Step
    >>> p = Process.build("p", [Step("s", "Start", StepKind.START), Step("e", "End",
    ...                   StepKind.END)], [("s", "e")], name="Tiny")
    >>> export_bpmn(p).startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    True
    """
    if isinstance(model, Process):
        model = ProcessModel(name=model.name, processes=(model,))
    root = _Writer(model).write()
    _scrub(root)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode("utf-8")
