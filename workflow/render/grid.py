"""A diagram laid out by us as a swimlane grid, drawn by Graphviz without a layout pass.

Bands are horizontal stripes in their given order; a step's column is its longest distance from
the start (loops left out), so the flow reads left to right; steps sharing a band and a column
stack, ordered by where their predecessors sit. Every part is linear or ``n log n`` in the size
of the process, so any process is drawn in bounded time, and Graphviz's ``nop2`` engine only
draws: it keeps our positions and our edge routes (:mod:`workflow.render.routing`).
"""

from __future__ import annotations

from collections import defaultdict

import graphviz
import networkx as nx

from workflow.render.attributes import (
    caption_label,
    edge_attributes,
    node_attributes,
    node_names,
)
from workflow.render.canvas import Diagram, Section
from workflow.render.routing import Box, route, spline
from workflow.render.style import FONT
from workflow.render.text import label_text

__all__ = ["columns", "grid_graph", "place_section", "route_spacing"]

POINTS = 72.0
NODE_WIDTH = 1.9  # inches
NODE_HEIGHT = 0.8
COLUMN = 215.0  # points from one column to the next
ROW = 92.0
GUTTER = 130.0  # room for the band names at the left
BAND_PAD = 12.0
SECTION_GAP = 50.0
TITLE_ROOM = 30.0


def route_spacing() -> dict[str, float]:
    """The grid's pitches and free gaps, as :func:`workflow.render.routing.route` needs them."""
    return {
        "column_pitch": COLUMN,
        "row_pitch": ROW,
        "column_gap": COLUMN - NODE_WIDTH * POINTS,
        "row_gap": ROW - NODE_HEIGHT * POINTS,
    }


def columns(section: Section) -> dict[str, int]:
    """Each node's column: a given column, or the longest forward path reaching it."""
    graph = nx.DiGraph()
    graph.add_nodes_from(node.key for node in section.nodes)
    graph.add_edges_from((e.tail, e.head) for e in section.edges if not e.back)
    fixed = {node.key: node.column for node in section.nodes if node.column is not None}
    result: dict[str, int] = {}
    try:
        order = list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible:
        order = list(graph)  # callers mark loops as back edges; this keeps a bad input drawable
    for key in order:
        if key in fixed:
            result[key] = fixed[key]
            continue
        result[key] = max((result[p] + 1 for p in graph.pred[key] if p in result), default=0)
    return result


def place_section(section: Section, top: float) -> tuple[dict[str, Box], list, float, float]:
    """Positions of a section's nodes, its band boxes and its height and width."""
    column_of = columns(section)
    preds: dict[str, list[str]] = defaultdict(list)
    for edge in section.edges:
        if not edge.back:
            preds[edge.head].append(edge.tail)
    cells: dict[tuple[str | None, int], list[str]] = defaultdict(list)
    band_of = {}
    for node in section.nodes:
        band_of[node.key] = node.band
        cells[(node.band, column_of[node.key])].append(node.key)
    slot: dict[str, int] = {}
    for (_, _), keys in sorted(cells.items(), key=lambda item: item[0][1]):
        def wanted(key: str) -> float:
            same = [slot[p] for p in preds[key] if p in slot and band_of[p] == band_of[key]]
            return sum(same) / len(same) if same else float("inf")

        for i, key in enumerate(sorted(keys, key=wanted)):
            slot[key] = i
    depth: dict[str | None, int] = defaultdict(lambda: 1)
    for (band, _), keys in cells.items():
        depth[band] = max(depth[band], len(keys))
    section_width = GUTTER + (max(column_of.values(), default=0) + 1) * COLUMN
    placed: dict[str, Box] = {}
    boxes = []
    y = top + (TITLE_ROOM if section.title else 0.0)
    band_top: dict[str | None, float] = {}
    for key in section.band_keys():
        height = depth[key] * ROW + 2 * BAND_PAD
        band_top[key] = y
        boxes.append((key, y, y + height))
        y += height
    for node in section.nodes:
        width = float(node.style.get("width", NODE_WIDTH)) * POINTS
        height = float(node.style.get("height", NODE_HEIGHT)) * POINTS
        placed[node.key] = Box(
            GUTTER + column_of[node.key] * COLUMN + COLUMN / 2,
            band_top[node.band] + BAND_PAD + slot[node.key] * ROW + ROW / 2,
            width / 2,
            height / 2,
            column_of[node.key],
        )
    return placed, boxes, y - top, section_width


def _bb(x0: float, top: float, x1: float, bottom: float, height: float) -> str:
    return f"{x0:.1f},{height - bottom:.1f},{x1:.1f},{height - top:.1f}"


def grid_graph(diagram: Diagram) -> graphviz.Digraph:
    """The DOT of ``diagram`` with every position fixed, for the ``nop2`` engine."""
    layouts = []
    top = 60.0 + 14.0 * len(diagram.caption)
    width = 0.0
    for section in diagram.sections:
        placed, boxes, height, section_width = place_section(section, top)
        layouts.append((section, placed, boxes, top, top + height))
        width = max(width, section_width)
        top += height + SECTION_GAP
    legend_top = top
    total = top + (ROW if diagram.legend else 0.0) + 20.0
    width = max(width, GUTTER + COLUMN * max(1, len(diagram.legend)))

    def pos(x: float, y: float) -> str:
        return f"{x:.1f},{total - y:.1f}!"

    names = node_names(diagram)
    graph = graphviz.Digraph(name="leanlane", engine="neato")  # drawn with nop2: positions kept
    graph.attr(
        fontname=FONT, fontsize="12", splines="true", outputorder="edgesfirst",
        bb=f"0,0,{width + 20:.1f},{total:.1f}", pad="0.2",
    )
    graph.attr("node", fontname=FONT, fontsize="10", margin="0.08,0.04",
               width=f"{NODE_WIDTH}", height=f"{NODE_HEIGHT}", fixedsize="true")
    graph.attr("edge", fontname=FONT, fontsize="9", arrowsize="0.7", color="#444444")
    graph.node("title", label=caption_label(diagram), shape="plaintext", fixedsize="false",
               fontsize="12", pos=pos(10 + 200, 30.0 + 7.0 * len(diagram.caption)),
               width="5.5", height="0.5")
    for section, placed, boxes, section_top, _section_bottom in layouts:
        if section.title:
            graph.node(f"title_{section.key}", label=label_text(section.title, 80, 1),
                       shape="plaintext", fontsize="14", fixedsize="false",
                       pos=pos(GUTTER / 2 + 100, section_top + 12))
        bands = {band.key: band for band in section.bands}
        for key, band_top, band_bottom in boxes:
            band = bands.get(key) if key is not None else None
            name = f"cluster_{section.key}_{key or 'none'}"
            with graph.subgraph(name=name) as cluster:
                cluster.attr(
                    bb=_bb(0, band_top, width, band_bottom, total),
                    label=label_text(band.label if band else "No lane", 16, 4),
                    lp=f"{GUTTER / 2:.1f},{total - (band_top + band_bottom) / 2:.1f}",
                    style="filled", fillcolor=band.fill if band else "#ffffff",
                    color="#b0b0b0", fontsize="12",
                )
                for node in section.nodes:
                    if node.band == key:
                        where = placed[node.key]
                        cluster.node(names[node.key], pos=pos(where.x, where.y),
                                     **node_attributes(node))
            if band is not None and band.line_below:
                graph.node(f"line_{section.key}_{key}", label=label_text(band.line_below, 20, 2),
                           shape="plaintext", fontsize="9", fontcolor="#555555",
                           fixedsize="false", pos=pos(GUTTER / 2, band_bottom - 10))
    for section, placed, *_ in layouts:
        blocked = {(box.column, box.y) for box in placed.values()}
        for index, edge in enumerate(section.edges):
            path = route(placed[edge.tail], placed[edge.head], index, **route_spacing(),
                         blocked=blocked)
            attrs = edge_attributes(edge, label_limit=18)
            attrs["pos"] = spline(path.points, path.tip, total)
            if edge.label:
                attrs["lp"] = f"{path.label_at[0]:.1f},{total - path.label_at[1]:.1f}"
            graph.edge(names[edge.tail], names[edge.head], **attrs)
    if diagram.legend:
        graph.node("legend_title", label="Legend", shape="plaintext", fixedsize="false",
                   pos=pos(GUTTER / 2, legend_top + ROW / 2))
        for i, entry in enumerate(diagram.legend):
            style = dict(entry.style)
            graph.node(
                f"legend_{i}",
                label=label_text(entry.label, width=24, max_lines=2),
                shape=entry.shape,
                style=style.pop("style", "filled"),
                fillcolor=entry.fill,
                fontsize="9",
                pos=pos(GUTTER + i * COLUMN + COLUMN / 2, legend_top + ROW / 2),
                **style,
            )
    return graph
