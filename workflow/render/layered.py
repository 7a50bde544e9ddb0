"""A diagram as DOT for Graphviz's ``dot``: one cluster per band, loops left out of the ranking.

``dot`` draws the nicest pictures of small and medium processes; its cost grows fast with size
and tangle. Attributes are chosen by size (fewer crossing-minimisation passes on big graphs) and
edges that close a loop never constrain rank; :mod:`workflow.render.engine` still bounds the
time and falls back to :mod:`workflow.render.grid`.
"""

from __future__ import annotations

import graphviz

from workflow.render.attributes import (
    caption_label,
    edge_attributes,
    node_attributes,
    node_names,
)
from workflow.render.canvas import Diagram, Section
from workflow.render.style import FONT
from workflow.render.text import label_text, plain

__all__ = ["layered_graph", "size_attributes"]

#: Above this many nodes ``dot`` gets cheaper settings (measured in bench/render.py).
LARGE = 150


def size_attributes(nodes: int) -> dict[str, str]:
    """Layout settings for a graph of ``nodes`` nodes."""
    if nodes <= LARGE:
        return {"mclimit": "1.0"}
    return {"mclimit": "0.3", "nslimit": "2", "nslimit1": "2", "searchsize": "20",
            "remincross": "false"}


def _section_body(graph: graphviz.Digraph, section: Section, names: dict[str, str]) -> None:
    by_band: dict[str | None, list] = {key: [] for key in section.band_keys()}
    for node in section.nodes:
        by_band.setdefault(node.band, []).append(node)
    bands = {band.key: band for band in section.bands}
    for key, nodes in by_band.items():
        if not nodes:
            continue
        band = bands.get(key) if key is not None else None
        with graph.subgraph(name=f"cluster_{section.key}_{key or 'none'}") as cluster:
            cluster.attr(
                label=label_text(band.label if band else "No lane", width=40, max_lines=1),
                style="filled",
                fillcolor=band.fill if band else "#ffffff",
                color="#b0b0b0",
                labeljust="l",
                fontsize="12",
                fontname=FONT,
            )
            for node in nodes:
                cluster.node(names[node.key], **node_attributes(node))


def layered_graph(diagram: Diagram) -> graphviz.Digraph:
    """The DOT of ``diagram`` for the ``dot`` engine."""
    graph = graphviz.Digraph(name="leanlane", engine="dot")
    graph.attr(
        rankdir="LR",
        fontname=FONT,
        fontsize="12",
        labelloc="t",
        labeljust="l",
        label=caption_label(diagram),
        nodesep="0.25",
        ranksep="0.4",
        pad="0.2",
        newrank="false",
        **size_attributes(diagram.node_count),
    )
    graph.attr("node", fontname=FONT, fontsize="10", margin="0.1,0.05")
    graph.attr("edge", fontname=FONT, fontsize="9", arrowsize="0.7", color="#444444")
    names = node_names(diagram)
    several = len(diagram.sections) > 1
    for section in diagram.sections:
        if several:
            with graph.subgraph(name=f"cluster_section_{section.key}") as outer:
                outer.attr(label=plain(section.title, 200), fontsize="14", style="solid",
                           color="#888888", labeljust="l")
                _section_body(outer, section, names)
        else:
            _section_body(graph, section, names)
    for section in diagram.sections:
        for edge in section.edges:
            graph.edge(names[edge.tail], names[edge.head], **edge_attributes(edge))
    if diagram.legend:
        with graph.subgraph(name="cluster_legend") as legend:
            legend.attr(label="Legend", fontsize="11", style="solid", color="#888888",
                        labeljust="l")
            previous = None
            for i, entry in enumerate(diagram.legend):
                key = f"legend_{i}"
                legend.node(
                    key,
                    label=label_text(entry.label, width=24, max_lines=2),
                    shape=entry.shape,
                    style=entry.style.get("style", "filled"),
                    fillcolor=entry.fill,
                    **{k: v for k, v in entry.style.items() if k != "style"},
                    fontsize="9",
                    tooltip=plain(entry.label),
                )
                if previous is not None:
                    legend.edge(previous, key, style="invis")
                previous = key
    return graph
