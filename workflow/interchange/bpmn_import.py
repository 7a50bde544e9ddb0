"""Reading a BPMN 2.0 file into a Leanlane process model (the mapping is in ``docs/BPMN.md``).

Every process of the file (one per pool) becomes a Leanlane process; an expanded sub-process
stays one ``subprocess`` step in its parent and its content becomes a process of its own, so
nothing nested is lost and the parent still reads at the level it was drawn. Lanes become
lanes, a pool without lanes becomes one lane, and a pool or lane named after the customer
becomes a customer lane; a customer pool's process becomes a customer journey, and message
flows between it and an employee process become the service-blueprint links between their
steps.

BPMN allows shapes Leanlane cannot measure; those are repaired
(:mod:`workflow.interchange.bpmn_repair`) and everything approximated or left out is reported in
:attr:`BpmnImport.warnings`. The counts (:class:`BpmnCounts`) are of what was read from the
file, before any repair, so another tool can check nothing was missed.

Examples
--------
>>> result = load_bpmn("tests/data/bpmn/miwg-reference/A.1.0.bpmn")  # doctest: +SKIP
>>> result.counts.flow_nodes, result.counts.sequence_flows  # doctest: +SKIP
(5, 4)
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import networkx as nx

from workflow.errors import ModelError, Problem
from workflow.interchange.bpmn_extensions import (
    Reading,
    extension_of,
    read_flow,
    read_lane,
    read_process,
    read_step,
)
from workflow.interchange.bpmn_names import (
    BPMN,
    FLOW_NODES,
    GATEWAYS,
    SUBPROCESSES,
    TASK_KINDS,
    is_customer_name,
    leanlane_id,
    local,
    words_of,
)
from workflow.interchange.bpmn_repair import Draft, repair
from workflow.interchange.safe_xml import MAX_BYTES, XmlRefused, parse_xml
from workflow.model import Flow, Lane, Link, ProcessModel, Step
from workflow.validate import ID_PATTERN, check_model
from workflow.vocabulary import LaneKind, Perspective, StepKind

__all__ = ["MAX_WARNINGS", "BpmnCounts", "BpmnImport", "import_bpmn", "load_bpmn"]

#: Warnings kept per file; a file that needs more gets one line saying how many were dropped.
MAX_WARNINGS = 200

_EVENT_WORDS = {
    "timerEventDefinition": "Timer",
    "messageEventDefinition": "Message",
    "errorEventDefinition": "Error",
    "escalationEventDefinition": "Escalation",
    "signalEventDefinition": "Signal",
    "conditionalEventDefinition": "Condition",
    "compensateEventDefinition": "Compensation",
    "cancelEventDefinition": "Cancel",
    "linkEventDefinition": "Link",
    "terminateEventDefinition": "Terminate",
}
_NOT_REPRESENTED = {
    "dataObject": "data object",
    "dataObjectReference": "data object reference",
    "dataStoreReference": "data store reference",
    "dataStore": "data store",
    "textAnnotation": "text annotation",
    "association": "association",
    "group": "group",
    "dataInputAssociation": "data input association",
    "dataOutputAssociation": "data output association",
    "conversation": "conversation",
    "choreography": "choreography",
}
_LOOPS = {"standardLoopCharacteristics", "multiInstanceLoopCharacteristics"}


@dataclass(frozen=True)
class BpmnCounts:
    """What was read from the file, counted like the file counts it."""

    flow_nodes: int = 0
    sequence_flows: int = 0
    lanes: int = 0
    pools: int = 0
    message_flows: int = 0


@dataclass(frozen=True)
class BpmnImport:
    """The model read from a BPMN file, the counts read and what was approximated."""

    model: ProcessModel
    counts: BpmnCounts
    warnings: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        """The counts and warnings, as ``leanlane import-bpmn --json`` prints them."""
        return {**asdict(self.counts), "warnings": list(self.warnings)}


def _is(element: ET.Element, name: str) -> bool:
    return element.tag == f"{{{BPMN}}}{name}"


def _bpmn_children(element: ET.Element, names: Iterable[str] | str) -> list[ET.Element]:
    wanted = {names} if isinstance(names, str) else set(names)
    return [
        child
        for child in element
        if isinstance(child.tag, str)
        and child.tag.startswith(f"{{{BPMN}}}")
        and local(child.tag) in wanted
    ]


def _documentation(element: ET.Element) -> str:
    texts = ["".join(d.itertext()).strip() for d in _bpmn_children(element, "documentation")]
    return "\n\n".join(t for t in texts if t)


def _name(element: ET.Element) -> str:
    name = element.get("name") or ""
    return name if name.strip() else ""


def _event_words(element: ET.Element) -> list[str]:
    return [_EVENT_WORDS[local(c.tag)] for c in element if local(c.tag) in _EVENT_WORDS]


@dataclass
class _Scope:
    """A process or sub-process being read: its draft and how BPMN ids map to its steps."""

    draft: Draft
    steps: dict[str, str] = field(default_factory=dict)  # BPMN id -> step id
    parallel: set[str] = field(default_factory=set)
    #: Steps whose kind Leanlane's own extension states (never split or re-read).
    explicit: set[str] = field(default_factory=set)


@dataclass
class _Pool:
    id: str
    name: str
    customer: bool


class _Reader:
    def __init__(self, root: ET.Element, source: str, name: str) -> None:
        self.root = root
        self.source = source
        self.name = name
        self.warnings: list[str] = []
        self.dropped = 0
        self.reading = Reading(self.warnings)
        self.counts: Counter[str] = Counter()
        self.process_ids: set[str] = set()
        self.drafts: list[Draft] = []
        self.repairs: list[tuple[Draft, set[str]]] = []
        #: BPMN id of a flow node -> (draft, step id); boundary events map to their host.
        self.nodes: dict[str, tuple[Draft, str]] = {}
        self.pool_by_process: dict[str, _Pool] = {}
        self.called: dict[str, Draft] = {}
        self.calls: list[tuple[Draft, str, str]] = []

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self.dropped += 1

    # --- the file ------------------------------------------------------------------------------
    def read(self) -> tuple[ProcessModel, BpmnCounts]:
        root = self.root
        collaborations = _bpmn_children(root, "collaboration")
        participants = [p for c in collaborations for p in _bpmn_children(c, "participant")]
        self.counts["pools"] = len(participants)
        for participant in participants:
            ref = participant.get("processRef")
            if ref:
                name = _name(participant) or ref
                self.pool_by_process[ref] = _Pool(
                    participant.get("id", ""), name, is_customer_name(name)
                )
        for process in _bpmn_children(root, "process"):
            self._read_process(process)
        for draft, step_id, called in self.calls:
            target = self.called.get(called)
            if target is not None:
                step = draft.step(step_id)
                note = f"Calls process {target.id!r}."
                draft.set_step(replace(step, description=_join(step.description, note)))
        links = self._read_message_flows(collaborations, participants)
        for draft, parallel in self.repairs:
            self._repair(draft, parallel)
        if not self.drafts:
            raise ModelError(
                [Problem("", "holds no process with any task, event or gateway to import")],
                self.source,
            )
        self._report_unread()
        if self.dropped:
            self.warnings.append(f"... and {self.dropped} more warnings")
        definitions_name = _name(root)
        descriptions = [_documentation(c) for c in collaborations]
        model = ProcessModel(
            name=definitions_name or self.name or "Imported BPMN model",
            processes=tuple(d.to_process() for d in self.drafts),
            links=tuple(links),
            description=next((d for d in descriptions if d), ""),
        )
        return model, BpmnCounts(**{k: self.counts[k] for k in asdict(BpmnCounts())})

    def _repair(self, draft: Draft, parallel: set[str]) -> None:
        prefix = f"process {draft.name!r}: "
        evenly = repair(draft, parallel, lambda text: self.warn(prefix + text))
        self.counts["evenly"] += evenly

    def _report_unread(self) -> None:
        found: Counter[str] = Counter()
        for element in self.root.iter():
            if isinstance(element.tag, str) and element.tag.startswith(f"{{{BPMN}}}"):
                kind = local(element.tag)
                if kind in FLOW_NODES:
                    found["flow_nodes"] += 1
                elif kind == "sequenceFlow":
                    found["sequence_flows"] += 1
                elif kind in _NOT_REPRESENTED:
                    found[kind] += 1
        for key, what in (("flow_nodes", "flow nodes"), ("sequence_flows", "sequence flows")):
            missed = found[key] - self.counts[key]
            if missed > 0:
                self.warnings.append(
                    f"{missed} {what} outside any process (for example in a choreography) "
                    "were not read"
                )
        if self.counts["evenly"]:
            self.warnings.append(
                f"BPMN holds no branch probabilities: the ways out of {self.counts['evenly']} "
                "step(s) are split evenly; set the real shares in Leanlane"
            )
        left_out = [f"{found[k]} {_NOT_REPRESENTED[k]}(s)" for k in _NOT_REPRESENTED if found[k]]
        if left_out:
            self.warnings.append("not represented in Leanlane: " + ", ".join(left_out))

    # --- processes and sub-processes -------------------------------------------------------
    def _read_process(self, element: ET.Element) -> None:
        bpmn_id = element.get("id", "")
        pool = self.pool_by_process.get(bpmn_id)
        extension = extension_of(element, "process")
        where = f"process {bpmn_id!r}"
        extras = read_process(extension, self.reading, where) if extension is not None else None
        perspective = Perspective.EMPLOYEE_PROCESS
        if extras is not None and extras.perspective is not None:
            perspective = extras.perspective
        elif pool is not None and pool.customer:
            perspective = Perspective.CUSTOMER_JOURNEY
        draft = Draft(
            id=self._process_id(extras.id if extras else None, bpmn_id),
            name=_name(element) or (pool.name if pool else "") or bpmn_id or "Process",
            perspective=perspective,
            volume=(extras.volume or 0.0) if extras else 0.0,
            description=_documentation(element),
        )
        lane_of: dict[str, str] = {}
        lanes = self._read_lanes(element, lane_of, draft, customer=bool(pool and pool.customer))
        default_lane = None
        if not lanes and pool is not None and extras is None:
            kind = LaneKind.CUSTOMER if pool.customer else LaneKind.ROLE
            lane = Lane(leanlane_id(pool.id or pool.name, set()), pool.name, kind)
            lanes = [lane]
            default_lane = lane.id
        draft.lanes = lanes
        if bpmn_id:
            self.called[bpmn_id] = draft
        self._read_scope(element, draft, lane_of, default_lane, lanes)

    def _process_id(self, wanted: str | None, bpmn_id: str) -> str:
        if wanted and ID_PATTERN.match(wanted) and wanted not in self.process_ids:
            self.process_ids.add(wanted)
            return wanted
        return leanlane_id(bpmn_id or "process", self.process_ids, "p")

    def _read_lanes(
        self, container: ET.Element, lane_of: dict[str, str], draft: Draft, customer: bool
    ) -> list[Lane]:
        lanes: list[Lane] = []
        taken: set[str] = set()

        def visit(lane_set: ET.Element) -> None:
            for element in _bpmn_children(lane_set, "lane"):
                self.counts["lanes"] += 1
                children = _bpmn_children(element, "childLaneSet")
                refs = [(r.text or "").strip() for r in _bpmn_children(element, "flowNodeRef")]
                if children and any(_bpmn_children(c, "lane") for c in children):
                    for child in children:
                        visit(child)
                    for ref in refs:  # a parent's node not claimed by a child lane
                        lane_of.setdefault(ref, "")
                    continue
                lane = self._lane(element, taken, customer)
                lanes.append(lane)
                for ref in refs:
                    if ref:
                        lane_of[ref] = lane.id

        for lane_set in _bpmn_children(container, "laneSet"):
            visit(lane_set)
        for ref, lane_id in list(lane_of.items()):
            if not lane_id:
                del lane_of[ref]
        return lanes

    def _lane(self, element: ET.Element, taken: set[str], customer: bool) -> Lane:
        bpmn_id = element.get("id", "")
        name = _name(element)
        extension = extension_of(element, "lane")
        values = (
            read_lane(extension, self.reading, f"lane {bpmn_id!r}") if extension is not None else {}
        )
        wanted = values.get("id")
        if wanted and ID_PATTERN.match(wanted) and wanted not in taken:
            taken.add(wanted)
            lane_id = wanted
        else:
            lane_id = leanlane_id(bpmn_id or name or "lane", taken, "lane")
        kind = values.get("kind")
        if kind is None:
            kind = LaneKind.CUSTOMER if customer or is_customer_name(name) else LaneKind.ROLE
        return Lane(
            lane_id,
            name or lane_id,
            kind,
            values.get("cost_per_hour", 0.0),
            _documentation(element),
        )

    def _read_scope(
        self,
        container: ET.Element,
        draft: Draft,
        lane_of: dict[str, str],
        default_lane: str | None,
        lanes: list[Lane],
    ) -> None:
        self.drafts.append(draft)
        scope = _Scope(draft)
        boundaries: list[ET.Element] = []
        flows: list[ET.Element] = []
        links: dict[str, tuple[list[str], list[str]]] = {}
        for child in container:
            if not (isinstance(child.tag, str) and child.tag.startswith(f"{{{BPMN}}}")):
                continue
            kind = local(child.tag)
            if kind == "sequenceFlow":
                self.counts["sequence_flows"] += 1
                flows.append(child)
            elif kind == "boundaryEvent":
                self.counts["flow_nodes"] += 1
                boundaries.append(child)
            elif kind in FLOW_NODES:
                self.counts["flow_nodes"] += 1
                self._read_node(child, kind, scope, lane_of, default_lane, lanes, links)
        defaults = {c.get("default", "") for c in container if c.get("default")}
        self._read_flows(scope, flows, boundaries, defaults)
        for name, (throws, catches) in links.items():
            if len(catches) == 1:
                for throw in throws:
                    if throw != catches[0]:
                        self._add_flow(scope, throw, catches[0], Flow(label=name))
        self._split_mixed_gateways(scope)
        if len(draft.graph) == 0:
            self.drafts.remove(draft)
            return
        self.repairs.append((draft, scope.parallel))

    def _step_id(self, scope: _Scope, values: dict[str, Any], bpmn_id: str) -> str:
        wanted = values.pop("id", None)
        if wanted and ID_PATTERN.match(wanted) and wanted not in scope.draft.step_ids:
            scope.draft.step_ids.add(wanted)
            return wanted
        return leanlane_id(bpmn_id or "step", scope.draft.step_ids)

    def _read_node(
        self,
        element: ET.Element,
        kind: str,
        scope: _Scope,
        lane_of: dict[str, str],
        default_lane: str | None,
        lanes: list[Lane],
        links: dict[str, tuple[list[str], list[str]]],
    ) -> None:
        draft = scope.draft
        bpmn_id = element.get("id", "")
        name = _name(element) or words_of(kind)
        where = f"{words_of(kind).lower()} {name!r}"
        has_content = kind in SUBPROCESSES and any(
            local(c.tag) in FLOW_NODES or local(c.tag) == "sequenceFlow" for c in element
        )
        if kind in SUBPROCESSES and element.get("triggeredByEvent") == "true":
            self.warn(
                f"event sub-process {name!r} is started by an event, not by the flow; "
                "its steps form a process of their own"
            )
            self._read_subprocess(element, name, draft, lane_of, default_lane, lanes)
            return
        if element.get("isForCompensation") == "true":
            self.warn(f"{where} only undoes work when compensation is triggered; left out")
            self._skip_content(element)
            return
        extension = extension_of(element, "step")
        values = read_step(extension, self.reading, where) if extension is not None else {}
        step_id = self._step_id(scope, values, bpmn_id)
        step_kind = self._kind(element, kind)
        if "kind" in values:
            scope.explicit.add(step_id)
        if kind == "parallelGateway" or values.get("kind") in (
            StepKind.PARALLEL_SPLIT,
            StepKind.PARALLEL_JOIN,
        ):
            scope.parallel.add(step_id)
        if kind in ("inclusiveGateway", "complexGateway"):
            self.warn(f"{where} is read as an exclusive choice: each case takes one way out")
        if any(local(c.tag) in _LOOPS for c in element):
            self.warn(f"{where} repeats (a loop or multi-instance); Leanlane counts one pass")
        lane = lane_of.get(bpmn_id, default_lane)
        description = _documentation(element)
        if has_content and extension is None:
            child = self._read_subprocess(element, name, draft, lane_of, lane, lanes)
            if child is not None:
                description = _join(description, f"Its steps form process {child.id!r}.")
        elif has_content:
            self._read_subprocess(element, name, draft, lane_of, lane, lanes)
        if kind == "callActivity" and element.get("calledElement"):
            self.calls.append((draft, step_id, element.get("calledElement", "")))
        values.setdefault("kind", step_kind)
        step = Step(step_id, name, lane=lane, description=description, **values)
        draft.add_step(step)
        scope.steps[bpmn_id] = step_id
        self.nodes[bpmn_id] = (draft, step_id)
        for definition in element:
            if local(definition.tag) == "linkEventDefinition":
                throws, catches = links.setdefault(definition.get("name") or "", ([], []))
                (throws if kind.endswith("ThrowEvent") else catches).append(step_id)

    def _kind(self, element: ET.Element, kind: str) -> StepKind:
        if kind in TASK_KINDS:
            return TASK_KINDS[kind]
        if kind == "startEvent":
            return StepKind.START
        if kind == "endEvent":
            return StepKind.END
        if kind == "intermediateCatchEvent":
            return StepKind.WAIT
        if kind in ("intermediateThrowEvent", "implicitThrowEvent"):
            return StepKind.HANDOFF if "Message" in _event_words(element) else StepKind.TASK
        if kind in GATEWAYS:
            return StepKind.DECISION
        return StepKind.SUBPROCESS

    def _skip_content(self, element: ET.Element) -> None:
        """Count what a left-out element holds, so the counts still match the file."""
        for inner in element.iter():
            if inner is element or not _is_bpmn(inner):
                continue
            if local(inner.tag) in FLOW_NODES:
                self.counts["flow_nodes"] += 1
            elif local(inner.tag) == "sequenceFlow":
                self.counts["sequence_flows"] += 1
            elif local(inner.tag) == "lane":
                self.counts["lanes"] += 1

    def _read_subprocess(
        self,
        element: ET.Element,
        name: str,
        parent: Draft,
        lane_of: dict[str, str],
        lane: str | None,
        lanes: list[Lane],
    ) -> Draft | None:
        own_lanes: dict[str, str] = dict(lane_of)
        extra = self._read_lanes(element, own_lanes, parent, customer=False)
        all_lanes = lanes + extra
        child = Draft(
            id=leanlane_id(element.get("id") or "subprocess", self.process_ids, "p"),
            name=name,
            perspective=parent.perspective,
            description=_documentation(element),
        )
        before = len(self.drafts)
        self._read_scope(element, child, own_lanes, lane, all_lanes)
        if len(self.drafts) == before or child not in self.drafts:
            return None
        used = {step.lane for _, step in child.graph.nodes(data="step")}
        child.lanes = [lane_ for lane_ in all_lanes if lane_.id in used]
        return child

    # --- flows -------------------------------------------------------------------------------
    def _read_flows(
        self,
        scope: _Scope,
        flows: list[ET.Element],
        boundaries: list[ET.Element],
        defaults: set[str],
    ) -> None:
        draft = scope.draft
        hosts: dict[str, tuple[str, ET.Element]] = {}
        for boundary in boundaries:
            host = boundary.get("attachedToRef", "")
            name = _name(boundary) or " ".join(_event_words(boundary)) or "Boundary event"
            if host in scope.steps:
                hosts[boundary.get("id", "")] = (scope.steps[host], boundary)
                self.nodes[boundary.get("id", "")] = (draft, scope.steps[host])
            else:
                self.warn(
                    f"boundary event {name!r} is attached to {host!r}, which is not a "
                    "step of the same process; left out"
                )
        exception_flows: list[tuple[str, str, Flow, ET.Element]] = []
        for element in flows:
            source_ref, target_ref = element.get("sourceRef", ""), element.get("targetRef", "")
            flow_id = element.get("id", "")
            extension = extension_of(element, "flow")
            label = _name(element)
            if extension is None:  # Leanlane's own files keep conditions in the name
                label = label or _condition(element)
                if flow_id and flow_id in defaults and not label:
                    label = "default"
            values = (
                read_flow(extension, self.reading, f"sequence flow {flow_id!r}")
                if extension is not None
                else {}
            )
            flow = Flow(label=label, **values)
            if source_ref in hosts:
                host, boundary = hosts[source_ref]
                if target_ref in scope.steps:
                    if not label:
                        flow = replace(
                            flow,
                            label=_name(boundary)
                            or " ".join(_event_words(boundary))
                            or "exception",
                        )
                    exception_flows.append((host, scope.steps[target_ref], flow, boundary))
                continue
            if source_ref not in scope.steps or target_ref not in scope.steps:
                self.warn(
                    f"sequence flow {flow_id!r} joins {source_ref!r} to {target_ref!r}, "
                    "which are not both steps of this process; left out"
                )
                continue
            self._add_flow(scope, scope.steps[source_ref], scope.steps[target_ref], flow)
        used = {boundary.get("id") for _, _, _, boundary in exception_flows}
        for boundary_id, (host, boundary) in hosts.items():
            if boundary_id not in used:
                self.warn(
                    f"boundary event {_name(boundary) or boundary_id!r} on "
                    f"{draft.label(host)} leads nowhere; left out"
                )
        for host, target, flow, boundary in exception_flows:
            if boundary.get("cancelActivity") == "false":
                self.warn(
                    f"non-interrupting boundary event {_name(boundary) or 'unnamed'!r} "
                    f"on {draft.label(host)} is read as an alternative way out"
                )
            self._add_flow(scope, host, target, flow, exception=True)
        self._mark_rework(draft, [(h, t) for h, t, _, _ in exception_flows])

    def _add_flow(
        self, scope: _Scope, source: str, target: str, flow: Flow, exception: bool = False
    ) -> None:
        draft = scope.draft
        graph = draft.graph
        if source == target:
            self.warn(
                f"a flow from {draft.label(source)} back to itself is left out; "
                "model the repeat as a decision with a rework flow"
            )
            return
        if graph.has_edge(source, target):
            old = graph.edges[source, target]["flow"]
            labels = [x for x in (old.label, flow.label) if x]
            graph.edges[source, target]["flow"] = replace(old, label=" / ".join(labels))
            self.warn(
                f"two flows from {draft.label(source)} to {draft.label(target)} are read as one"
            )
            return
        graph.add_edge(source, target, flow=flow)

    def _mark_rework(self, draft: Draft, exceptions: list[tuple[str, str]]) -> None:
        """An exception flow that leads back to work already done is rework."""
        if not exceptions:
            return
        component = {}
        for i, members in enumerate(nx.strongly_connected_components(draft.graph)):
            for node in members:
                component[node] = i
        for host, target in exceptions:
            if draft.graph.has_edge(host, target) and component[host] == component[target]:
                flow = draft.graph.edges[host, target]["flow"]
                draft.graph.edges[host, target]["flow"] = replace(flow, rework=True)

    def _split_mixed_gateways(self, scope: _Scope) -> None:
        """A parallel gateway that both joins and splits becomes a join followed by a split."""
        draft = scope.draft
        graph = draft.graph
        for node in sorted(scope.parallel - scope.explicit):
            if graph.in_degree(node) > 1 and graph.out_degree(node) > 1:
                step = draft.step(node)
                split = draft.new_step(
                    f"{node}.split", step.name, StepKind.PARALLEL_SPLIT, step.lane
                )
                for target in list(graph.succ[node]):
                    graph.add_edge(split, target, flow=graph.edges[node, target]["flow"])
                    graph.remove_edge(node, target)
                graph.add_edge(node, split, flow=Flow())
                scope.parallel.add(split)

    # --- message flows -----------------------------------------------------------------------
    def _read_message_flows(
        self, collaborations: list[ET.Element], participants: list[ET.Element]
    ) -> list[Link]:
        pools = {p.get("id", ""): _name(p) or p.get("id", "") for p in participants}
        links: list[Link] = []
        seen: set[Link] = set()
        for collaboration in collaborations:
            for element in _bpmn_children(collaboration, "messageFlow"):
                self.counts["message_flows"] += 1
                link = self._message_flow(element, pools)
                if link is not None and link not in seen:
                    seen.add(link)
                    links.append(link)
        return links

    def _message_flow(self, element: ET.Element, pools: dict[str, str]) -> Link | None:
        label = _name(element) or "message"
        source = self.nodes.get(element.get("sourceRef", ""))
        target = self.nodes.get(element.get("targetRef", ""))
        if source and target:
            (d1, s1), (d2, s2) = source, target
            journey = Perspective.CUSTOMER_JOURNEY
            if d1.perspective is journey and d2.perspective is not journey:
                return Link(d1.id, s1, d2.id, s2)
            if d2.perspective is journey and d1.perspective is not journey:
                return Link(d2.id, s2, d1.id, s1)
            self._note(d1, s1, "outputs", label)
            self._note(d2, s2, "inputs", label)
            self.warn(
                f"message flow {label!r} from {d1.label(s1)} to {d2.label(s2)} is kept "
                f"as the output and input 'message: {label}' of the two steps"
            )
            return None
        pool_side = (
            pools.get(element.get("targetRef", ""))
            if source
            else pools.get(element.get("sourceRef", ""))
        )
        if source and pool_side is not None:
            self._note(*source, "outputs", f"{label} (to {pool_side})")
            return None
        if target and pool_side is not None:
            self._note(*target, "inputs", f"{label} (from {pool_side})")
            return None
        self.warn(f"message flow {label!r} does not join two steps; left out")
        return None

    def _note(self, draft: Draft, step_id: str, field_name: str, label: str) -> None:
        step = draft.step(step_id)
        item = f"message: {label}"
        if item not in getattr(step, field_name):
            draft.set_step(replace(step, **{field_name: (*getattr(step, field_name), item)}))


def _is_bpmn(element: ET.Element) -> bool:
    return isinstance(element.tag, str) and element.tag.startswith(f"{{{BPMN}}}")


def _condition(element: ET.Element) -> str:
    for child in _bpmn_children(element, "conditionExpression"):
        text = " ".join("".join(child.itertext()).split())
        if text:
            return text
    return ""


def _join(text: str, more: str) -> str:
    return f"{text}\n\n{more}" if text else more


def _check_root(root: ET.Element, source: str) -> None:
    if local(root.tag) != "definitions":
        raise XmlRefused(
            f"is not a BPMN 2.0 file: the document is a <{local(root.tag)}>, not <definitions>",
            source,
        )
    if not _is(root, "definitions"):
        namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else "no namespace"
        raise XmlRefused(
            f"is not a BPMN 2.0 file: <definitions> is in {namespace}, not {BPMN}", source
        )


def import_bpmn(data: bytes | str, source: str = "", *, name: str = "") -> BpmnImport:
    """Read a BPMN 2.0 document; :class:`~workflow.errors.ModelError` if it cannot be used.

    ``name`` names the model when the file does not (for example the file's name).
    """
    root = parse_xml(data, source)
    _check_root(root, source)
    reader = _Reader(root, source, name)
    model, counts = reader.read()
    problems = check_model(model)
    if problems:
        raise ModelError(
            [Problem("", "could not be turned into a valid Leanlane model"), *problems], source
        )
    return BpmnImport(model, counts, tuple(reader.warnings))


def load_bpmn(path: str | os.PathLike[str]) -> BpmnImport:
    """Read a BPMN file, refusing one over the size limit before reading it."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise XmlRefused(
                f"is {size / 1024 / 1024:.1f} MiB; files over {MAX_BYTES // 1024 // 1024} MiB "
                "are refused",
                str(path),
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError([Problem("", f"cannot read: {exc.strerror or exc}")], str(path)) from None
    return import_bpmn(data, str(path), name=path.stem)
