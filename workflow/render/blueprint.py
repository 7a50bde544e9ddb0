"""The service blueprint of a journey: what the customer does and sees, and the work behind it.

Rows, top to bottom: customer actions, frontstage, backstage, support, separated by the lines of
interaction, visibility and internal interaction. Columns follow the journey; each employee step
that serves a journey step (``served_by``) sits in that step's column, in the row its ``layer``
names (a system lane or system task means support, anything else backstage).
"""

from __future__ import annotations

from workflow.analysis import Analysis
from workflow.model import Process, ProcessModel, Step
from workflow.render.canvas import Band, Diagram, Edge, LegendEntry, Section, mark_back_edges
from workflow.render.grid import columns
from workflow.render.maps import value_legend
from workflow.render.steps import LinkBuilder, default_link, flow_edge, step_node
from workflow.render.style import EDGE_COLOURS
from workflow.vocabulary import LaneKind, Layer, StepKind

__all__ = ["service_blueprint"]

ROWS = (
    (Layer.CUSTOMER_ACTION, "Customer actions", "#fdf6e3", "line of interaction"),
    (Layer.FRONTSTAGE, "Frontstage", "#eef5fb", "line of visibility"),
    (Layer.BACKSTAGE, "Backstage", "#f4f4f4", "line of internal interaction"),
    (Layer.SUPPORT, "Support processes", "#ececec", ""),
)


def _journey_row(journey: Process, step: Step) -> Layer:
    if step.layer is not None:
        return step.layer
    lane = journey.lane(step.lane)
    return Layer.CUSTOMER_ACTION if lane is None or lane.is_customer else Layer.FRONTSTAGE


def _employee_row(process: Process, step: Step) -> Layer:
    if step.layer is not None:
        return step.layer
    lane = process.lane(step.lane)
    if step.kind is StepKind.SYSTEM or (lane is not None and lane.kind is LaneKind.SYSTEM):
        return Layer.SUPPORT
    return Layer.BACKSTAGE


def service_blueprint(
    model: ProcessModel,
    journey_id: str,
    analysis: Analysis | None = None,
    *,
    link: LinkBuilder = default_link,
) -> Diagram:
    """The blueprint of journey ``journey_id`` of ``model``."""
    journey = model.process(journey_id)
    if not journey.is_journey:
        raise ValueError(
            f"{journey_id!r} is an employee process; a blueprint starts from a journey"
        )
    scores = {}
    if analysis is not None:
        for item in analysis.processes:
            scores.update({(item.process.id, k): v for k, v in item.scores.items()})
    section = Section("bp", "", [Band(layer.value, name, fill, line) for layer, name, fill, line
                                 in ROWS])
    journey_keys = {s.id: f"j_{s.id}" for s in journey.steps()}
    for step in journey.steps():
        node = step_node(journey, step, key=journey_keys[step.id],
                         score=scores.get((journey.id, step.id)), link=link)
        node.band = _journey_row(journey, step).value
        if step.customer_name:
            node.label = step.customer_name
        section.nodes.append(node)
    section.edges = [flow_edge(journey, s, t, f, journey_keys) for s, t, f in journey.flows()]
    mark_back_edges(journey_keys.values(), section.edges, journey_keys[journey.start()])
    column = columns(section)
    for node in section.nodes:
        node.column = column[node.key]

    placed: dict[tuple[str, str], str] = {}
    for step in journey.steps():
        for link_ in model.served_by(journey.id, step.id):
            where = (link_.process, link_.step)
            process = model.process(link_.process)
            if where not in placed:
                served = process.step(link_.step)
                key = f"e_{link_.process}_{link_.step}"
                node = step_node(process, served, key=key, score=scores.get(where), link=link)
                node.band = _employee_row(process, served).value
                node.column = column[journey_keys[step.id]]
                lane = process.lane(served.lane)
                node.subtitle = "\n".join(x for x in (lane.name if lane else "", node.subtitle)
                                           if x)
                node.max_lines = 2
                section.nodes.append(node)
                placed[where] = key
            section.edges.append(
                Edge(journey_keys[step.id], placed[where], tooltip="served by",
                     style={"color": EDGE_COLOURS["link"], "style": "dotted", "arrowhead": "none"},
                     constrain=False)
            )
    for (process_id, step_id), key in placed.items():
        process = model.process(process_id)
        for target in process.graph.succ[step_id]:
            if (process_id, target) in placed:
                edge = flow_edge(process, step_id, target, process.flow(step_id, target),
                                 {step_id: key, target: placed[(process_id, target)]})
                edge.style.setdefault("color", "#888888")
                edge.constrain = False
                section.edges.append(edge)
    legend = [
        *value_legend(),
        LegendEntry("dotted line: served by (journey step to the work behind it)", "#ffffff",
                    "plaintext", {"fontcolor": EDGE_COLOURS["link"]}),
    ]
    return Diagram(
        name=f"blueprint_{journey.id}",
        title=f"Service blueprint: {journey.name}",
        sections=[section],
        caption=[f"{len(placed)} employee steps serve the {len(journey)} steps of this journey"],
        legend=legend,
        layered=False,
    )
