"""Diagrams of processes: swimlane maps, service blueprints, pain heatmaps and proposal views.

Views build a :class:`~workflow.render.canvas.Diagram`; a :class:`Renderer` draws it as SVG, PNG
or PDF within a time limit.

Examples
--------
>>> from workflow.yaml_format import load_model
>>> from workflow.render import Renderer, process_map
>>> model = load_model("process_models/insurance_claim.yaml")  # doctest: +SKIP
>>> svg = Renderer().render(process_map(model.processes[1]), "svg").data  # doctest: +SKIP
"""

from workflow.render.blueprint import service_blueprint
from workflow.render.canvas import Diagram
from workflow.render.engine import (
    FORMATS,
    DirectoryCache,
    MemoryCache,
    Rendered,
    Renderer,
    RenderError,
)
from workflow.render.maps import HEATMAP_MEASURES, pain_heatmap, process_map
from workflow.render.proposal import proposal_diff, proposal_side_by_side

__all__ = [
    "FORMATS",
    "HEATMAP_MEASURES",
    "Diagram",
    "DirectoryCache",
    "MemoryCache",
    "RenderError",
    "Rendered",
    "Renderer",
    "pain_heatmap",
    "process_map",
    "proposal_diff",
    "proposal_side_by_side",
    "service_blueprint",
]
