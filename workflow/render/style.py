"""Colours, shapes and fonts shared by every view.

Colours are six-digit hex (Graphviz 2.43, still shipped by Debian, fills three-digit ones
black). Hues come from the Okabe-Ito palette and the score scale from viridis, both readable
with the common colour-vision deficiencies; text on a dark fill is white.
"""

from __future__ import annotations

from workflow.vocabulary import LaneKind, StepKind, ValueClass

__all__ = [
    "BAND_FILLS",
    "EDGE_COLOURS",
    "FONT",
    "KIND_SHAPES",
    "SCORE_BINS",
    "VALUE_FILLS",
    "score_fill",
]

FONT = "Helvetica"

#: DOT attributes per step kind, close to BPMN: events are circles, gateways diamonds.
KIND_SHAPES: dict[StepKind, dict[str, str]] = {
    StepKind.START: {"shape": "circle", "style": "filled", "fillcolor": "#e5f5e0"},
    StepKind.END: {"shape": "doublecircle", "style": "filled", "fillcolor": "#eeeeee"},
    StepKind.TASK: {"shape": "box", "style": "rounded,filled"},
    StepKind.SYSTEM: {"shape": "component", "style": "filled"},
    StepKind.APPROVAL: {"shape": "hexagon", "style": "filled"},
    StepKind.HANDOFF: {"shape": "cds", "style": "filled"},
    StepKind.WAIT: {"shape": "box", "style": "rounded,dashed,filled"},
    StepKind.SUBPROCESS: {"shape": "box", "style": "rounded,filled", "peripheries": "2"},
    StepKind.DECISION: {"shape": "diamond", "style": "filled", "fillcolor": "#fff7bc"},
    StepKind.PARALLEL_SPLIT: {"shape": "diamond", "style": "filled", "fillcolor": "#fff7bc"},
    StepKind.PARALLEL_JOIN: {"shape": "diamond", "style": "filled", "fillcolor": "#fff7bc"},
}

#: How each step kind is named in legends and tooltips.
KIND_WORDS: dict[StepKind, str] = {
    StepKind.START: "start",
    StepKind.END: "end",
    StepKind.TASK: "task",
    StepKind.SYSTEM: "system task",
    StepKind.APPROVAL: "approval",
    StepKind.HANDOFF: "handoff",
    StepKind.WAIT: "wait",
    StepKind.SUBPROCESS: "sub-process",
    StepKind.DECISION: "decision",
    StepKind.PARALLEL_SPLIT: "parallel split",
    StepKind.PARALLEL_JOIN: "parallel join",
}

#: Process-map fill by value class: blue for value, orange for waste (never red against green).
VALUE_FILLS: dict[ValueClass | None, str] = {
    ValueClass.VA: "#cfe3f5",
    ValueClass.BVA: "#e8e8f4",
    ValueClass.NVA: "#fcd9b6",
    None: "#ffffff",
}

BAND_FILLS: dict[LaneKind, str] = {
    LaneKind.CUSTOMER: "#fdf6e3",
    LaneKind.ROLE: "#f4f7fb",
    LaneKind.TEAM: "#f4f7fb",
    LaneKind.PARTNER: "#f3f3f3",
    LaneKind.SYSTEM: "#f0f0f0",
}

EDGE_COLOURS = {
    "flow": "#444444",
    "handoff": "#0072b2",
    "rework": "#d55e00",
    "link": "#777777",
    "removed": "#cc3311",
    "added": "#009e73",
    "changed": "#0072b2",
}

#: Viridis in five steps, low to high, with the text colour that reads on each.
SCORE_BINS: tuple[tuple[float, str, str], ...] = (
    (20.0, "#fde725", "#000000"),
    (40.0, "#5ec962", "#000000"),
    (60.0, "#21918c", "#ffffff"),
    (80.0, "#3b528b", "#ffffff"),
    (100.0, "#440154", "#ffffff"),
)


def score_fill(value: float) -> tuple[str, str]:
    """Fill and font colour for a 0-100 score."""
    for upper, fill, font in SCORE_BINS:
        if value < upper:
            return fill, font
    return SCORE_BINS[-1][1], SCORE_BINS[-1][2]
