"""What a proposal changes: one diff view, or the process before and after side by side."""

from __future__ import annotations

from workflow.metrics import Metrics
from workflow.model import Process
from workflow.proposals import Proposal
from workflow.render.canvas import Diagram, LegendEntry, mark_back_edges
from workflow.render.steps import LinkBuilder, default_link, flow_edge, process_section, step_node
from workflow.render.style import EDGE_COLOURS
from workflow.report import format_minutes

__all__ = ["metric_deltas", "proposal_diff", "proposal_side_by_side"]


def _delta(label: str, before: float, after: float, show) -> str:
    change = after - before
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{label} {show(before)} → {show(after)} ({sign}{show(abs(change))})"


def metric_deltas(before: Metrics, after: Metrics) -> list[str]:
    """The caption lines: each headline metric before → after, with the change."""
    return [
        " · ".join(
            (
                _delta("Lead time", before.lead_minutes, after.lead_minutes, format_minutes),
                _delta("touch", before.touch_minutes, after.touch_minutes, format_minutes),
                _delta("PCE", before.pce * 100, after.pce * 100, lambda v: f"{v:.1f}%"),
                _delta("handoffs", before.handoffs, after.handoffs, lambda v: f"{v:.1f}"),
            )
        ),
        " · ".join(
            (
                _delta("Staff hours a year", before.annual_hours, after.annual_hours,
                       lambda v: f"{v:,.0f}"),
                _delta("cost a year", before.annual_cost, after.annual_cost,
                       lambda v: f"{v:,.0f}"),
                _delta("rolled %C&A", before.rolled_pct_complete_accurate,
                       after.rolled_pct_complete_accurate, lambda v: f"{v:.0f}%"),
            )
        ),
    ]


def _check_process(process: Process, proposal: Proposal) -> None:
    if proposal.process != process.id:
        raise ValueError(f"proposal {proposal.id} is for process {proposal.process!r}")


def _title(proposal: Proposal) -> str:
    return f"Proposal {proposal.id} ({proposal.category.value}): {proposal.title}"


def proposal_diff(
    process: Process, proposal: Proposal, *, link: LinkBuilder = default_link
) -> Diagram:
    """One picture of the change: removed steps red dashed, merged or changed steps outlined,
    new steps and flows green, removed flows red dashed."""
    _check_process(process, proposal)
    after = proposal.proposed
    section = process_section(after, link=link)
    nodes = {node.key: node for node in section.nodes}
    names = {s.id: s.name for s in process.steps()}
    for step in after.steps():
        node = nodes[step.id]
        if step.id not in process:
            node.style.update(color=EDGE_COLOURS["added"], penwidth="3")
            node.subtitle = "new step"
            continue
        old = process.step(step.id)
        if step.merged_from != old.merged_from:
            merged = [names.get(s, s) for s in step.merged_from]
            node.style.update(color=EDGE_COLOURS["changed"], penwidth="3")
            node.subtitle = "merged: " + " + ".join(merged)
        elif step != old:
            changed = [k for k in ("name", "kind", "lane", "touch_minutes", "wait_minutes",
                                   "pct_complete_accurate", "value_class")
                       if getattr(step, k) != getattr(old, k)]
            node.style.update(color=EDGE_COLOURS["changed"], penwidth="3")
            node.subtitle = "changed: " + ", ".join(k.replace("_", " ") for k in changed)
    merged_away = {s for step in after.steps() for s in step.merged_from}
    for step in process.steps():
        if step.id in after:
            continue
        node = step_node(process, step, fill="#fbe3dc", link=link)
        node.style.update(color=EDGE_COLOURS["removed"], fontcolor=EDGE_COLOURS["removed"])
        node.style["style"] = node.style.get("style", "filled") + ",dashed"
        node.subtitle = "merged away" if step.id in merged_away else "removed"
        section.nodes.append(node)
    for edge in section.edges:
        if not process.graph.has_edge(edge.tail, edge.head):
            edge.style.update(color=EDGE_COLOURS["added"], penwidth="2.2",
                              fontcolor=EDGE_COLOURS["added"])
    for source, target, flow in process.flows():
        if not after.graph.has_edge(source, target):
            edge = flow_edge(process, source, target, flow)
            edge.style.update(color=EDGE_COLOURS["removed"], style="dashed",
                              fontcolor=EDGE_COLOURS["removed"])
            section.edges.append(edge)
    for edge in section.edges:
        edge.back = False
    mark_back_edges([n.key for n in section.nodes], section.edges, after.start())
    legend = [
        LegendEntry("removed step", "#fbe3dc", "box",
                    {"style": "rounded,filled,dashed", "color": EDGE_COLOURS["removed"]}),
        LegendEntry("merged or changed step", "#ffffff", "box",
                    {"style": "rounded,filled", "color": EDGE_COLOURS["changed"],
                     "penwidth": "3"}),
        LegendEntry("new step", "#ffffff", "box",
                    {"style": "rounded,filled", "color": EDGE_COLOURS["added"], "penwidth": "3"}),
        LegendEntry("green arrow: new flow · red dashed: removed flow", "#ffffff", "plaintext"),
    ]
    return Diagram(
        name=f"proposal_{proposal.id}",
        title=_title(proposal),
        sections=[section],
        caption=metric_deltas(proposal.before, proposal.after),
        legend=legend,
    )


def proposal_side_by_side(
    process: Process, proposal: Proposal, *, link: LinkBuilder = default_link
) -> Diagram:
    """The process before and after the proposal, one above the other, same scale."""
    _check_process(process, proposal)
    before = process_section(process, key="before", title="Before", link=link, prefix="before:")
    after = process_section(
        proposal.proposed, key="after", title="After", link=link, prefix="after:"
    )
    return Diagram(
        name=f"proposal_{proposal.id}_sides",
        title=_title(proposal),
        sections=[before, after],
        caption=metric_deltas(proposal.before, proposal.after),
    )
