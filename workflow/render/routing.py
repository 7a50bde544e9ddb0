"""Orthogonal edges for the swimlane grid, in linear time.

Columns of the grid are separated by vertical gaps and stacked steps by horizontal gaps, so an
edge that runs only along gaps never crosses a step. An edge leaves its step to the right, runs
in the gap after its column, along the horizontal gap next to its target's row, down the gap
before the target's column and into the target from the left. Edges sharing a gap are spread a
few points apart so they stay distinguishable.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

__all__ = ["Box", "Route", "route"]

ARROW = 7.0  # length of an arrowhead at arrowsize 0.7, in points
SPREAD = 5  # lanes per gap that parallel edges are spread over


@dataclass(frozen=True)
class Box:
    """A placed step: centre, half sizes and grid column (y grows downwards)."""

    x: float
    y: float
    half_width: float
    half_height: float
    column: int


@dataclass(frozen=True)
class Route:
    points: tuple[tuple[float, float], ...]  # the polyline, ending at the arrowhead's base
    tip: tuple[float, float]
    label_at: tuple[float, float]


def _offset(index: int, room: float) -> float:
    step = room / (SPREAD + 1)
    return (index % SPREAD - (SPREAD - 1) / 2) * step


def route(
    tail: Box,
    head: Box,
    index: int,
    *,
    column_pitch: float,
    row_pitch: float,
    column_gap: float,
    row_gap: float,
    blocked: set[tuple[int, float]],
) -> Route:
    """The route of edge number ``index`` from ``tail`` to ``head``.

    Vertical runs keep to the middle of the gap between two columns (``column_pitch`` apart,
    ``column_gap`` free between the widest steps), horizontal runs to the middle of the gap
    between two stacked rows. ``blocked`` holds ``(column, y)`` of every step, to tell whether
    a straight horizontal run is free.
    """
    if tail.column == head.column:
        down = head.y > tail.y
        start = (tail.x, tail.y + (tail.half_height if down else -tail.half_height))
        tip = (head.x, head.y - (head.half_height if down else -head.half_height))
        base = (tip[0], tip[1] - ARROW if down else tip[1] + ARROW)
        return Route((start, base), tip, ((start[0] + base[0]) / 2 + 6, (start[1] + base[1]) / 2))
    tip = (head.x - head.half_width, head.y)
    base = (tip[0] - ARROW, tip[1])
    exit_ = (tail.x + tail.half_width, tail.y)
    forward = head.column > tail.column
    if forward and head.y == tail.y and all(
        (c, head.y) not in blocked for c in range(tail.column + 1, head.column)
    ):
        points = (exit_, base)
        return Route(points, tip, ((exit_[0] + base[0]) / 2, tail.y - 7))
    shift = _offset(index, column_gap)
    gap_after = tail.x + column_pitch / 2 + shift
    gap_before = head.x - column_pitch / 2 + shift
    if forward and all((c, head.y) not in blocked for c in range(tail.column + 1, head.column)):
        points = (exit_, (gap_after, tail.y), (gap_after, head.y), base)
        return Route(points, tip, ((gap_after + base[0]) / 2, head.y - 7))
    lane_shift = _offset(index, row_gap)
    if forward:
        channel = head.y - row_pitch / 2 + lane_shift
    else:
        channel = tail.y + row_pitch / 2 + lane_shift
    points = (
        exit_,
        (gap_after, tail.y),
        (gap_after, channel),
        (gap_before, channel),
        (gap_before, head.y),
        base,
    )
    return Route(points, tip, ((gap_before + base[0]) / 2, head.y - 7))


def spline(points: tuple[tuple[float, float], ...], tip: tuple[float, float], flip: float) -> str:
    """A polyline as Graphviz's ``pos`` of an edge (straight Bézier pieces, y flipped)."""

    def at(p: tuple[float, float]) -> str:
        return f"{p[0]:.1f},{flip - p[1]:.1f}"

    parts = [f"e,{at(tip)}", at(points[0])]
    for previous, current in itertools.pairwise(points):
        parts += [at(previous), at(current), at(current)]
    return " ".join(parts)
