"""DOT attributes of nodes and edges, with every piece of user text escaped on the way.

Both layouts build their node and edge attributes, node names and captions here, so there is one
place where user text meets DOT.
"""

from __future__ import annotations

import graphviz

from workflow.render.canvas import Diagram, Edge, Node
from workflow.render.text import label_text, plain, safe_link

__all__ = ["caption_label", "edge_attributes", "node_attributes", "node_label", "node_names"]


def node_label(node: Node) -> str:
    text = label_text(node.label, width=node.wrap, max_lines=node.max_lines)
    for line in node.subtitle.splitlines():
        text = graphviz.nohtml(f"{text}\\n{plain(line, 60)}")
    return text


def node_attributes(node: Node) -> dict[str, str]:
    attrs = dict(node.style)
    attrs["label"] = node_label(node)
    attrs["tooltip"] = plain(node.tooltip or node.label)
    if node.element_id:
        attrs["id"] = safe_link("#" + node.element_id)[1:]
    if node.link:
        attrs["URL"] = safe_link(node.link)
        attrs["target"] = "_top"
    return attrs


def edge_attributes(edge: Edge, label_limit: int = 40) -> dict[str, str]:
    attrs = dict(edge.style)
    if edge.label:
        attrs["label"] = plain(edge.label, label_limit)
    attrs["tooltip"] = plain(edge.tooltip or edge.label or " ")
    if edge.back or not edge.constrain:
        attrs["constraint"] = "false"
    return attrs


def node_names(diagram: Diagram) -> dict[str, str]:
    """DOT names for the nodes: plain ``n0``, ``n1`` ... so no key can be read as a port."""
    return {
        node.key: f"n{i}"
        for i, node in enumerate(n for section in diagram.sections for n in section.nodes)
    }


def caption_label(diagram: Diagram) -> str:
    lines = [plain(diagram.title, 200)] + [plain(line, 300) for line in diagram.caption]
    return graphviz.nohtml("\\l".join(lines) + "\\l")
