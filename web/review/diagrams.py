"""The review pages' diagrams as inline SVG (drawn by ``workflow.render``, cached on disk by DOT).

A diagram that cannot be drawn in time becomes None and the page says so; it never fails the
page.
"""

from __future__ import annotations

from web.rendering import renderer, step_url
from workflow.analysis import ProcessAnalysis
from workflow.model import Process
from workflow.proposals import Proposal
from workflow.render import Diagram, RenderError, pain_heatmap, proposal_diff, proposal_side_by_side

__all__ = ["heatmap_svg", "proposal_svgs"]


def _svg(diagram: Diagram) -> str | None:
    try:
        return renderer().render(diagram, "svg").data.decode("utf-8")
    except (RenderError, ValueError, KeyError):
        return None


def _links(row_id: int):
    return lambda _process, step: step_url(row_id, step)


def heatmap_svg(row_id: int, process: Process, result: ProcessAnalysis) -> str | None:
    return _svg(pain_heatmap(process, result, link=_links(row_id)))


def proposal_svgs(row_id: int, process: Process, proposal: Proposal) -> tuple[str | None, ...]:
    """The change in one picture, and the process before and after side by side."""
    link = _links(row_id)
    return (
        _svg(proposal_diff(process, proposal, link=link)),
        _svg(proposal_side_by_side(process, proposal, link=link)),
    )
