"""Geometry of the flags-over-time bar chart, drawn by the template as inline SVG.

The chart is plain SVG shapes with presentation attributes (no script, no style attributes, so
the Content-Security-Policy holds); every bar has a text title and the page shows the same
figures in a table next to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.services.insights import PeriodFlags

__all__ = ["Bar", "Chart", "flag_chart"]

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 12, 36


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    source: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[Label]
    empty: bool


def _axis_top(largest: int) -> int:
    """The top of the axis: four equal whole-number steps reaching at least ``largest``."""
    magnitude = 1
    while True:
        for step in (1, 2, 3, 5):
            if 4 * step * magnitude >= largest:
                return 4 * step * magnitude
        magnitude *= 10


def flag_chart(timeline: list[PeriodFlags]) -> Chart:
    """Side-by-side staff and customer bars for each period."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    top = _axis_top(max((max(p.staff, p.customer) for p in timeline), default=0))
    group = plot_width / max(1, len(timeline))
    bar_width = group * 0.36
    bars: list[Bar] = []
    labels: list[Label] = []
    for index, point in enumerate(timeline):
        left = LEFT + index * group + group * 0.14
        for offset, source, count in ((0, "staff", point.staff), (1, "customer", point.customer)):
            height = plot_height * count / top
            noun = "staff flag" if source == "staff" else "customer flag"
            bars.append(
                Bar(
                    round(left + offset * bar_width, 2),
                    round(baseline - height, 2),
                    round(bar_width, 2),
                    round(height, 2),
                    source,
                    f"{point.period.label}: {count} {noun}{'' if count == 1 else 's'}",
                )
            )
        labels.append(Label(round(LEFT + index * group + group / 2, 2), point.period.short))
    ticks = [Tick(round(baseline - plot_height * i / 4, 2), top * i // 4) for i in range(5)]
    return Chart(
        WIDTH,
        HEIGHT,
        LEFT,
        baseline,
        bars,
        ticks,
        labels,
        not any(p.total for p in timeline),
    )
