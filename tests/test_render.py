"""Views, the swimlane grid and the renderer: what is drawn, where, and within what time."""

from __future__ import annotations

import itertools
import random
import re
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.analysis import analyze
from workflow.generate import random_process
from workflow.render import (
    DirectoryCache,
    MemoryCache,
    Renderer,
    RenderError,
    pain_heatmap,
    process_map,
    proposal_diff,
    proposal_side_by_side,
    service_blueprint,
)
from workflow.render.canvas import Edge, mark_back_edges
from workflow.render.grid import place_section, route_spacing
from workflow.render.routing import route
from workflow.render.style import score_fill
from workflow.yaml_format import load_model

MODELS = sorted((Path(__file__).parent.parent / "process_models").glob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def claim():
    model = load_model(Path(__file__).parent.parent / "process_models" / "insurance_claim.yaml")
    return model, analyze(model, simulation_runs=0)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _groups(svg: bytes, cls: str) -> list[ET.Element]:
    return [g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("class") == cls]


def _cluster_tops(svg: bytes) -> list[tuple[str, float]]:
    """Cluster titles with the top of their box, top to bottom."""
    tops = []
    for group in _groups(svg, "cluster"):
        title = group.find(f"{SVG}title").text
        points = group.find(f"{SVG}polygon").get("points").split()
        tops.append((title, min(float(p.split(",")[1]) for p in points)))
    return sorted(tops, key=lambda item: item[1])


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_every_step_of_every_shipped_process_is_drawn_with_id_link_and_tooltip(path, renderer):
    model = load_model(path)
    analysis = analyze(model, simulation_runs=0)
    for item in analysis.processes:
        process = item.process
        svg = renderer.render(process_map(process, item), "svg").data
        nodes = {
            g.get("id"): g for g in _groups(svg, "node") if g.get("id", "").startswith("step:")
        }
        assert set(nodes) == {f"step:{process.id}:{s}" for s in process.graph}
        for step in process.steps():
            anchor = nodes[f"step:{process.id}:{step.id}"].find(f"{SVG}g/{SVG}a")
            assert anchor.get("{http://www.w3.org/1999/xlink}href") == (
                f"#step:{process.id}:{step.id}"
            )
            assert anchor.get("{http://www.w3.org/1999/xlink}title").startswith(step.name[:20])


def test_lanes_are_stacked_in_the_order_the_process_lists_them(claim, renderer):
    model, analysis = claim
    process = model.process("claims")
    svg = renderer.render(process_map(process, analysis.process("claims")), "svg").data
    order = [title.removeprefix("cluster_p_") for title, _ in _cluster_tops(svg)]
    assert order == [lane.id for lane in process.lanes]


def test_rework_is_dashed_and_probabilities_label_the_branches(claim, renderer):
    model, _analysis = claim
    process = model.process("claims")
    svg = renderer.render(process_map(process), "svg").data.decode()
    assert "stroke-dasharray" in svg  # rework loop
    for source, _target, flow in process.flows():
        if process.graph.out_degree(source) > 1 and flow.probability is not None:
            assert f"{flow.probability:.0%}" in svg


def test_heatmap_fills_steps_by_priority_and_counts_signals(claim, renderer):
    _model, analysis = claim
    item = analysis.process("claims")
    svg = renderer.render(pain_heatmap(item.process, item), "svg").data
    nodes = {g.get("id"): g for g in _groups(svg, "node")}
    hottest = item.hotspots(1)[0]
    group = nodes[f"step:claims:{hottest.step}"]
    assert group.find(f".//{SVG}path").get("fill") == score_fill(hottest.priority.value)[0]
    texts = " ".join(t.text or "" for t in group.iter(f"{SVG}text"))
    assert f"priority {hottest.priority.value:.0f}" in texts
    if hottest.staff_signals:
        assert f"staff {hottest.staff_signals}" in texts
    legend = " ".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text"))
    assert "priority 80–100" in legend


def test_heatmap_rejects_an_unknown_measure(claim):
    model, analysis = claim
    with pytest.raises(ValueError, match="priority, pain"):
        pain_heatmap(model.process("claims"), analysis.process("claims"), measure="cost")


def test_blueprint_rows_are_in_order_and_hold_the_serving_steps(claim, renderer):
    model, analysis = claim
    svg = renderer.render(service_blueprint(model, "file_claim", analysis), "svg").data
    rows = [title.removeprefix("cluster_bp_") for title, _ in _cluster_tops(svg)]
    assert rows == ["customer_action", "frontstage", "backstage", "support"]
    ids = {g.get("id") for g in _groups(svg, "node")}
    served = {(link.process, link.step) for link in model.links if link.journey == "file_claim"}
    assert {f"step:{p}:{s}" for p, s in served} <= ids
    text = svg.decode()
    for line in ("line of interaction", "line of visibility", "line of internal"):
        assert line in text


def test_blueprint_needs_a_journey(claim):
    model, _ = claim
    with pytest.raises(ValueError, match="employee process"):
        service_blueprint(model, "claims")


def test_proposal_diff_marks_removed_steps_and_new_flows(claim, renderer):
    model, analysis = claim
    removal = next(p for p in analysis.proposals if set(p.targets) - set(p.proposed.graph))
    before = model.process(removal.process)
    diagram = proposal_diff(before, removal)
    svg = renderer.render(diagram, "svg").data
    nodes = {g.get("id"): g for g in _groups(svg, "node")}
    for gone in set(before.graph) - set(removal.proposed.graph):
        group = nodes[f"step:{before.id}:{gone}"]
        assert group.find(f".//{SVG}path").get("stroke") == "#cc3311"
        assert group.find(f".//{SVG}path").get("stroke-dasharray")
    new_flows = set(removal.proposed.graph.edges) - set(before.graph.edges)
    assert new_flows and svg.decode().count('stroke="#009e73"') >= len(new_flows)
    assert any(line.startswith("Lead time") and "→" in line for line in diagram.caption)


def test_side_by_side_shows_both_versions_with_distinct_ids(claim, renderer):
    model, analysis = claim
    proposal = analysis.proposals[0]
    process = model.process(proposal.process)
    svg = renderer.render(proposal_side_by_side(process, proposal), "svg").data
    ids = {g.get("id") for g in _groups(svg, "node")}
    assert {f"before:step:{process.id}:{s}" for s in process.graph} <= ids
    assert {f"after:step:{process.id}:{s}" for s in proposal.proposed.graph} <= ids


def test_proposal_views_refuse_another_process(claim):
    model, analysis = claim
    proposal = analysis.proposals[0]
    other = next(p for p in model.processes if p.id != proposal.process)
    with pytest.raises(ValueError, match="is for process"):
        proposal_diff(other, proposal)


@pytest.mark.parametrize(
    ("fmt", "magic"), [("svg", b"<svg"), ("png", b"\x89PNG"), ("pdf", b"%PDF")]
)
def test_every_format_renders(claim, renderer, fmt, magic):
    model, _ = claim
    data = renderer.render(process_map(model.process("file_claim")), fmt).data
    assert magic in data[:400]


def test_unknown_format_is_a_clear_error(claim, renderer):
    model, _ = claim
    with pytest.raises(RenderError, match="choose one of svg, png, pdf"):
        renderer.render(process_map(model.process("file_claim")), "gif")


def test_an_unchanged_diagram_is_laid_out_once(claim):
    model, _ = claim
    renderer = Renderer(cache=MemoryCache())
    first = renderer.render(process_map(model.process("claims")), "svg")
    again = renderer.render(process_map(model.process("claims")), "svg")
    assert not first.cached and again.cached and again.data == first.data


def test_memory_cache_evicts_the_least_recently_used():
    cache = MemoryCache(max_bytes=10)
    cache.set("a", b"12345")
    cache.set("b", b"12345")
    assert cache.get("a") == b"12345"  # a is now the most recent
    cache.set("c", b"12345")
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    cache.set("huge", b"x" * 11)
    assert cache.get("huge") is None


def test_directory_cache_shares_renders_and_refuses_odd_keys(tmp_path):
    DirectoryCache(tmp_path).set("abc123", b"data")
    assert DirectoryCache(tmp_path).get("abc123") == b"data"
    assert DirectoryCache(tmp_path).get("missing") is None
    with pytest.raises(ValueError):
        DirectoryCache(tmp_path).get("../etc/passwd")


def test_dot_out_of_time_falls_back_to_the_grid_and_remembers(claim):
    model, _ = claim
    renderer = Renderer(layout="layered", budget=lambda nodes: 0.001)
    diagram = process_map(model.process("claims"))
    result = renderer.render(diagram, "svg")
    assert result.layout == "grid"
    assert "took longer than" in result.notes[0]
    again = renderer.render(diagram, "svg")
    assert again.cached and "failed on this diagram before" in again.notes[0]


def test_layered_layout_draws_small_processes_with_dot(claim):
    model, _ = claim
    # A generous budget: on a busy machine starting dot alone can take longer than the
    # default's fraction of a second, and then the grid is (rightly) used instead.
    renderer = Renderer(layout="layered", budget=lambda _nodes: 60.0)
    result = renderer.render(process_map(model.process("file_claim")), "svg")
    assert result.layout == "layered" and b"<svg" in result.data


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-dot"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_a_layout_past_the_time_limit_is_stopped_with_a_clear_error(claim, tmp_path):
    model, _ = claim
    renderer = Renderer(dot_command=_script(tmp_path, "exec sleep 60"), time_limit=1.0)
    with pytest.raises(RenderError, match="longer than"):
        renderer.render(process_map(model.process("file_claim")), "svg")


def test_a_missing_graphviz_program_is_a_clear_error(claim, tmp_path):
    model, _ = claim
    renderer = Renderer(dot_command=str(tmp_path / "no-such-dot"))
    with pytest.raises(RenderError, match="cannot run Graphviz"):
        renderer.render(process_map(model.process("file_claim")), "svg")


def test_a_configured_dot_gets_the_dot_text_and_the_format(claim, tmp_path):
    model, _ = claim
    script = _script(tmp_path, f'cat > {tmp_path}/in.dot; echo "$@" > {tmp_path}/args; echo out')
    result = Renderer(dot_command=script).render(process_map(model.process("file_claim")), "png")
    assert result.data == b"out\n"
    assert (tmp_path / "args").read_text().split() == ["-Knop2", "-Tpng"]
    assert "digraph" in (tmp_path / "in.dot").read_text()


def test_bad_renderer_settings_are_refused():
    with pytest.raises(ValueError, match="time_limit"):
        Renderer(time_limit=0)
    with pytest.raises(ValueError, match="layout"):
        Renderer(layout="circo")


def test_back_edges_leave_the_rest_acyclic():
    edges = [Edge("s", "a"), Edge("a", "b"), Edge("b", "a"), Edge("b", "c"), Edge("c", "s")]
    mark_back_edges(["s", "a", "b", "c"], edges, "s")
    assert [(e.tail, e.head) for e in edges if e.back] == [("b", "a"), ("c", "s")]


def _boxes_overlap(a, b) -> bool:
    return abs(a.x - b.x) < a.half_width + b.half_width and abs(a.y - b.y) < (
        a.half_height + b.half_height
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 120), st.integers(0, 10_000), st.integers(1, 6))
def test_grid_steps_never_overlap_and_edges_never_cross_a_step(size, seed, lanes):
    process = random_process(random.Random(seed), size, lanes=lanes)
    section = process_map(process).sections[0]
    placed, boxes, _, _ = place_section(section, 0.0)
    items = list(placed.items())
    by_cell = {}
    for key, box in items:
        assert (box.column, box.y) not in by_cell, "two steps in one place"
        by_cell[(box.column, box.y)] = key
    band_of = {node.key: node.band for node in section.nodes}
    spans = {key: (top, bottom) for key, top, bottom in boxes}
    for key, box in items:
        top, bottom = spans[band_of[key]]
        assert top <= box.y - box.half_height and box.y + box.half_height <= bottom
    blocked = set(by_cell)
    for index, edge in enumerate(section.edges):
        tail, head = placed[edge.tail], placed[edge.head]
        path = route(tail, head, index, **route_spacing(), blocked=blocked)
        points = path.points
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            assert x0 == x1 or y0 == y1, "segments run along the grid"
            for key, box in items:
                if key in (edge.tail, edge.head):
                    continue
                inside_x = min(x0, x1) < box.x + box.half_width and max(x0, x1) > (
                    box.x - box.half_width
                )
                inside_y = min(y0, y1) < box.y + box.half_height and max(y0, y1) > (
                    box.y - box.half_height
                )
                assert not (inside_x and inside_y), f"{edge.tail}->{edge.head} crosses {key}"


def test_grid_draws_a_cycle_nobody_marked(renderer):
    process = random_process(random.Random(3), 30)
    diagram = process_map(process)
    for edge in diagram.sections[0].edges:
        edge.back = False
    diagram.sections[0].edges.append(Edge(diagram.sections[0].edges[-1].head, "start"))
    svg = renderer.render(diagram, "svg").data
    assert re.search(rb"<svg", svg)
