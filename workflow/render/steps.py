"""Nodes and edges of one process, shared by the map, heatmap and proposal views."""

from __future__ import annotations

from collections.abc import Callable

from workflow.model import Flow, Process, Step
from workflow.render.canvas import Band, Edge, Node, Section, mark_back_edges
from workflow.render.style import BAND_FILLS, EDGE_COLOURS, KIND_SHAPES, KIND_WORDS, VALUE_FILLS
from workflow.report import format_minutes
from workflow.scoring import StepScore
from workflow.vocabulary import STRUCTURAL_KINDS, StepKind

__all__ = [
    "LinkBuilder",
    "default_link",
    "element_id",
    "flow_edge",
    "process_bands",
    "process_section",
    "step_node",
    "step_tooltip",
]

#: Builds the link a click on a step opens: ``(process_id, step_id) -> relative URL``.
LinkBuilder = Callable[[str, str], str]

_SMALL_KINDS = STRUCTURAL_KINDS | {StepKind.DECISION}


def element_id(process_id: str, step_id: str, prefix: str = "") -> str:
    """The SVG id of a step: stable across renders, made of validated ids only."""
    return f"{prefix}step:{process_id}:{step_id}"


def default_link(process_id: str, step_id: str) -> str:
    return "#" + element_id(process_id, step_id)


def process_bands(process: Process) -> list[Band]:
    """One band per lane, in the order the process lists them, customers first."""
    lanes = sorted(process.lanes, key=lambda lane: not lane.is_customer)
    return [Band(lane.id, lane.name, BAND_FILLS[lane.kind]) for lane in lanes]


def times(step: Step) -> str:
    if step.kind in STRUCTURAL_KINDS:
        return ""
    parts = []
    if step.touch_minutes:
        parts.append(format_minutes(step.touch_minutes))
    if step.wait_minutes:
        parts.append(f"waits {format_minutes(step.wait_minutes)}")
    return " · ".join(parts)


def step_tooltip(process: Process, step: Step, score: StepScore | None = None) -> str:
    lane = process.lane(step.lane)
    parts = [step.name, KIND_WORDS[step.kind]]
    if lane is not None:
        parts.append(f"lane: {lane.name}")
    if step.kind not in STRUCTURAL_KINDS:
        parts.append(f"touch {format_minutes(step.touch_minutes)}")
        parts.append(f"wait {format_minutes(step.wait_minutes)}")
    if step.value_class is not None:
        parts.append(f"value: {step.value_class.value}")
    if step.protected:
        parts.append(f"required by {step.required_by}")
    if score is not None:
        parts.append(
            f"priority {score.priority.value:.0f} (effort {score.effort.value:.0f}, "
            f"value {score.value.value:.0f}, pain {score.pain.value:.0f})"
        )
        if score.staff_signals or score.customer_signals:
            parts.append(
                f"staff signals {score.staff_signals}, customer signals {score.customer_signals}"
            )
    return " · ".join(parts)


def step_node(
    process: Process,
    step: Step,
    *,
    key: str | None = None,
    fill: str | None = None,
    score: StepScore | None = None,
    link: LinkBuilder = default_link,
    prefix: str = "",
) -> Node:
    style = dict(KIND_SHAPES[step.kind])
    if step.kind not in _SMALL_KINDS:
        style["fillcolor"] = fill or VALUE_FILLS[step.value_class]
    wrap = 22
    if step.kind is StepKind.DECISION:
        style.update(width="1.5", height="0.8", fontsize="8")
        wrap = 16
    elif step.kind in _SMALL_KINDS:
        style.update(width="0.8", height="0.8", fontsize="8")
        wrap = 10
    if step.protected:
        style["penwidth"] = "2"
    label = step.name
    if step.kind is StepKind.PARALLEL_SPLIT or step.kind is StepKind.PARALLEL_JOIN:
        label = "+"
        style["fontsize"] = "16"
    return Node(
        key=key or step.id,
        band=step.lane if process.lane(step.lane) is not None else None,
        label=label,
        tooltip=step_tooltip(process, step, score),
        link=link(process.id, step.id),
        element_id=element_id(process.id, step.id, prefix),
        style=style,
        subtitle=times(step),
        wrap=wrap,
    )


def flow_edge(process: Process, source: str, target: str, flow: Flow, keys=None) -> Edge:
    """The edge of one flow: probabilities on choices, rework dashed, handoffs in blue."""
    keys = keys or {}
    label = flow.label
    if process.graph.out_degree(source) > 1 and flow.probability is not None:
        share = f"{flow.probability:.0%}"
        label = f"{label} ({share})" if label else share
    style: dict[str, str] = {}
    tail, head = process.step(source), process.step(target)
    if flow.rework:
        style.update(color=EDGE_COLOURS["rework"], fontcolor=EDGE_COLOURS["rework"],
                     style="dashed")
        label = label or "rework"
    elif tail.lane and head.lane and tail.lane != head.lane:
        style.update(color=EDGE_COLOURS["handoff"], penwidth="1.6")
    tooltip = f"{tail.name} → {head.name}" + (f" ({label})" if label else "")
    return Edge(keys.get(source, source), keys.get(target, target), label=label,
                tooltip=tooltip, style=style, constrain=not flow.rework)


def process_section(
    process: Process,
    *,
    key: str = "p",
    title: str = "",
    fills: dict[str, str] | None = None,
    scores: dict[str, StepScore] | None = None,
    link: LinkBuilder = default_link,
    prefix: str = "",
) -> Section:
    """A process as a section: its lanes, steps and flows, loops marked.

    Steps are filled by ``fills`` where it names them, else by their value class.
    """
    fills = fills or {}
    scores = scores or {}
    keys = {step.id: f"{prefix}{step.id}" for step in process.steps()}  # unique per section
    nodes = [
        step_node(process, step, key=keys[step.id], fill=fills.get(step.id),
                  score=scores.get(step.id), link=link, prefix=prefix)
        for step in process.steps()
    ]
    edges = [flow_edge(process, s, t, f, keys) for s, t, f in process.flows()]
    try:
        start = keys[process.start()]
    except LookupError:
        start = None
    mark_back_edges(keys.values(), edges, start)
    for edge in edges:
        if edge.back:
            edge.style.setdefault("color", EDGE_COLOURS["rework"])
            edge.style["style"] = "dashed"
    return Section(key, title, process_bands(process), nodes, edges)
