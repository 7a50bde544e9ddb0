"""What a diagram shows, before it is laid out: bands (lanes or blueprint rows), nodes, edges.

Views fill a :class:`Diagram`; :mod:`workflow.render.layered` and :mod:`workflow.render.grid`
turn it into DOT. Keeping the two apart lets one view be drawn by Graphviz's ``dot`` where that
is quick, and by our own swimlane grid where ``dot`` would be slow or fail, without the view
knowing. User text stays raw here; the emitters escape it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx

__all__ = ["Band", "Diagram", "Edge", "LegendEntry", "Node", "Section", "mark_back_edges"]


@dataclass
class Band:
    """A horizontal stripe: a lane of a process map or a row of a service blueprint.

    ``line_below`` names the line drawn under the band (a blueprint's line of visibility).
    """

    key: str
    label: str
    fill: str = "#f7f7f7"
    line_below: str = ""


@dataclass
class Node:
    """One drawn step. ``style`` holds only our own DOT attributes, never user text."""

    key: str
    band: str | None
    label: str
    tooltip: str = ""
    link: str = ""
    element_id: str = ""
    style: dict[str, str] = field(default_factory=dict)
    subtitle: str = ""
    column: int | None = None
    wrap: int = 22
    max_lines: int = 3


@dataclass
class Edge:
    tail: str
    head: str
    label: str = ""
    tooltip: str = ""
    style: dict[str, str] = field(default_factory=dict)
    back: bool = False
    constrain: bool = True


@dataclass
class Section:
    """A part of a diagram with its own bands (the "before" and "after" of a proposal)."""

    key: str
    title: str
    bands: list[Band] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def band_keys(self) -> list[str | None]:
        """Bands in drawing order; steps without a lane go in a band of their own, last."""
        keys: list[str | None] = [band.key for band in self.bands]
        if any(node.band is None for node in self.nodes):
            keys.append(None)
        return keys


@dataclass
class LegendEntry:
    label: str
    fill: str = "#ffffff"
    shape: str = "box"
    style: dict[str, str] = field(default_factory=dict)


@dataclass
class Diagram:
    """A whole picture: a title, caption lines, sections and a legend.

    ``layered`` says whether ``dot``'s own ranking may draw it; a blueprint sets it to False
    because its rows must keep their fixed order.
    """

    name: str
    title: str
    sections: list[Section]
    caption: list[str] = field(default_factory=list)
    legend: list[LegendEntry] = field(default_factory=list)
    layered: bool = True

    @property
    def node_count(self) -> int:
        return sum(len(section.nodes) for section in self.sections)

    @property
    def edge_count(self) -> int:
        return sum(len(section.edges) for section in self.sections)


def mark_back_edges(nodes: Iterable[str], edges: list[Edge], start: str | None = None) -> None:
    """Mark the edges that close a loop, found by depth-first search from ``start``.

    What remains is acyclic, so the loops (rework, a discovered log's repeats) can be drawn
    without constraining the left-to-right order of the steps.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    index: dict[tuple[str, str], list[Edge]] = {}
    for edge in edges:
        graph.add_edge(edge.tail, edge.head)
        index.setdefault((edge.tail, edge.head), []).append(edge)
    roots = [start] if start is not None and start in graph else []
    roots += [n for n in graph if graph.in_degree(n) == 0 and n != start]
    roots += list(graph)  # what no source reaches (a cycle on its own) still gets visited
    seen: set[str] = set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        on_path = {root}
        stack = [(root, iter(graph.succ[root]))]
        while stack:
            node, successors = stack[-1]
            for nxt in successors:
                if nxt in on_path:
                    for edge in index[(node, nxt)]:
                        edge.back = True
                elif nxt not in seen:
                    seen.add(nxt)
                    on_path.add(nxt)
                    stack.append((nxt, iter(graph.succ[nxt])))
                    break
            else:
                stack.pop()
                on_path.discard(node)
