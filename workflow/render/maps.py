"""The process map and the pain heatmap of one process."""

from __future__ import annotations

from workflow.analysis import ProcessAnalysis
from workflow.model import Process
from workflow.render.canvas import Diagram, LegendEntry
from workflow.render.steps import LinkBuilder, default_link, process_section
from workflow.render.style import EDGE_COLOURS, SCORE_BINS, VALUE_FILLS, score_fill
from workflow.report import format_minutes
from workflow.vocabulary import STRUCTURAL_KINDS, StepKind, ValueClass

__all__ = ["HEATMAP_MEASURES", "pain_heatmap", "process_map", "value_legend"]

HEATMAP_MEASURES = ("priority", "pain")


def _metrics_line(analysis: ProcessAnalysis | None) -> list[str]:
    if analysis is None:
        return []
    m = analysis.metrics
    return [
        f"Lead time {format_minutes(m.lead_minutes)} · touch {format_minutes(m.touch_minutes)}"
        f" · PCE {m.pce:.1%} · handoffs {m.handoffs:.1f} · rolled %C&A "
        f"{m.rolled_pct_complete_accurate:.0f}% · {m.cases_per_year:,.0f} cases a year"
    ]


def _flow_legend() -> list[LegendEntry]:
    return [
        LegendEntry("dashed orange arrow: rework or loop", "#ffffff", "plaintext",
                    {"fontcolor": EDGE_COLOURS["rework"]}),
        LegendEntry("blue arrow: handoff to another lane", "#ffffff", "plaintext",
                    {"fontcolor": EDGE_COLOURS["handoff"]}),
    ]


def value_legend() -> list[LegendEntry]:
    return [
        LegendEntry("value-adding (VA)", VALUE_FILLS[ValueClass.VA]),
        LegendEntry("business-required (BVA)", VALUE_FILLS[ValueClass.BVA]),
        LegendEntry("non-value-adding (NVA)", VALUE_FILLS[ValueClass.NVA]),
        LegendEntry("value not set", VALUE_FILLS[None]),
    ]


def process_map(
    process: Process,
    analysis: ProcessAnalysis | None = None,
    *,
    link: LinkBuilder = default_link,
) -> Diagram:
    """Swimlanes, shapes by step kind, fill by value class, loops and handoffs marked."""
    section = process_section(process, scores=analysis.scores if analysis else None, link=link)
    legend = [
        *value_legend(),
        LegendEntry("thick border: required by a rule", "#ffffff", "box",
                    {"style": "rounded,filled", "penwidth": "2"}),
        *_flow_legend(),
    ]
    kind = "Customer journey" if process.is_journey else "Process map"
    return Diagram(
        name=f"map_{process.id}",
        title=f"{kind}: {process.name}",
        sections=[section],
        caption=_metrics_line(analysis),
        legend=legend,
    )


def pain_heatmap(
    process: Process,
    analysis: ProcessAnalysis,
    *,
    measure: str = "priority",
    link: LinkBuilder = default_link,
) -> Diagram:
    """Steps filled by priority (or pain) on a colour-blind-safe scale, with signal badges."""
    if measure not in HEATMAP_MEASURES:
        raise ValueError(f"measure must be one of {', '.join(HEATMAP_MEASURES)}")
    fills: dict[str, str] = {}
    for step_id, score in analysis.scores.items():
        fills[step_id] = score_fill(getattr(score, measure).value)[0]
    section = process_section(process, fills=fills, scores=analysis.scores, link=link)
    for node in section.nodes:
        step = process.step(node.key)
        score = analysis.scores.get(step.id)
        if score is None or step.kind in STRUCTURAL_KINDS:
            continue
        value = getattr(score, measure).value
        node.style["fontcolor"] = score_fill(value)[1]
        node.subtitle = f"{measure} {value:.0f}"
        badges = []
        if score.staff_signals:
            badges.append(f"staff {score.staff_signals}")
        if score.customer_signals:
            badges.append(f"customers {score.customer_signals}")
        if step.kind is StepKind.DECISION:
            node.subtitle = ""
        elif badges:
            node.subtitle += "\n" + " · ".join(badges)
            node.max_lines = 2
    lower = 0.0
    legend = []
    for upper, fill, font in SCORE_BINS:
        legend.append(LegendEntry(f"{measure} {lower:.0f}–{upper:.0f}", fill, "box",
                                  {"style": "rounded,filled", "fontcolor": font}))
        lower = upper
    legend.append(LegendEntry("staff N · customers N: flags and hard CES answers",
                              "#ffffff", "plaintext"))
    legend.extend(_flow_legend())
    return Diagram(
        name=f"heatmap_{process.id}",
        title=f"Pain heatmap ({measure}): {process.name}",
        sections=[section],
        caption=_metrics_line(analysis),
        legend=legend,
    )
