"""Hostile user text in every place it reaches a diagram: it must render and stay inert."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import graphviz
import pygraphviz
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workflow.analysis import analyze
from workflow.model import Flag, Flow, Lane, Process, ProcessModel, Step
from workflow.render import (
    Renderer,
    pain_heatmap,
    process_map,
    proposal_diff,
    service_blueprint,
)
from workflow.render.text import clean, label_text, plain, safe_link
from workflow.vocabulary import FlagCategory, FlagSource, LaneKind, Layer, Perspective, StepKind

HOSTILE = [
    "ends with a backslash \\",
    'quote " and escaped quote \\" and \\\\"',
    'x\\"]; evil [URL="javascript:alert(1)" label="pwned"',
    '"]; n [URL="javascript:alert(1)"]; "',
    "<b onmouseover=\"alert(1)\">bold</b>",
    '<<IMG SRC="/etc/passwd"/>>',
    '<<TABLE><TR><TD HREF="javascript:alert(1)">x</TD></TR></TABLE>>',
    "javascript:alert(document.cookie)",
    "<script>alert(1)</script>",
    "]]></text><script>alert(1)</script>",
    "&amp; &lt;script&gt; &#x3C;",
    "line one\nline two\r\nline three",
    "nul \x00 vt \x0b esc \x1b del \x7f nonchar \ufffe",
    "\\N \\G \\L \\l \\E \\n \\r",
    "}; digraph evil { a -> b",
    "-- > -> [] {} ; , = @import url(x)",
    "right-to-left \u202e override",
    "x" * 3000,
]

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def _hostile_model(text: str) -> ProcessModel:
    lanes = (
        Lane("cust", f"Customer {text}", LaneKind.CUSTOMER),
        Lane("desk", f"Desk {text}"),
    )
    flag = Flag(FlagSource.STAFF, FlagCategory.WAITING, 4, text=text, idea=text)
    journey = Process.build(
        "j",
        [
            Step("s", f"Start {text}", StepKind.START, lane="cust"),
            Step("ask", f"Ask {text}", lane="cust", layer=Layer.CUSTOMER_ACTION,
                 customer_name=f"Customer words {text}", touch_minutes=5, flags=(flag,)),
            Step("e", f"End {text}", StepKind.END, lane="cust"),
        ],
        [("s", "ask"), ("ask", "e", Flow(label=text))],
        name=f"Journey {text}",
        perspective=Perspective.CUSTOMER_JOURNEY,
        lanes=lanes[:1],
        volume=100,
    )
    work = Process.build(
        "w",
        [
            Step("s", f"Start {text}", StepKind.START, lane="desk"),
            Step("d", f"Decide {text}", StepKind.DECISION, lane="desk"),
            Step("a", f"Answer {text}", lane="desk", touch_minutes=10, wait_minutes=60,
                 required_by=text, flags=(flag,)),
            Step("useless", f"Copy {text}", lane="desk", touch_minutes=10,
                 value_class=None),
            Step("e", f"End {text}", StepKind.END, lane="desk"),
        ],
        [
            ("s", "d"),
            ("d", "a", Flow(0.6, label=text)),
            ("d", "useless", Flow(0.4)),
            ("useless", "a", Flow(label=text)),
            ("a", "e"),
        ],
        name=f"Work {text}",
        lanes=lanes[1:],
        volume=100,
    )
    from workflow.model import Link

    return ProcessModel(f"Model {text}", (journey, work), (Link("j", "ask", "w", "a"),))


def _check_inert(svg: bytes, expected_steps: set[str]) -> None:
    root = ET.fromstring(svg)  # well-formed XML despite control characters
    seen_steps = set()
    for element in root.iter():
        tag = element.tag.replace(SVG, "")
        assert tag not in {"script", "foreignObject", "image", "iframe", "object", "embed"}
        for name, value in element.attrib.items():
            bare = name.replace(XLINK, "")
            assert not bare.lower().startswith("on"), f"event handler {name}={value!r}"
            if bare == "href":
                assert value.startswith("#step:"), f"link {value!r}"
            if bare == "style":
                assert "url(" not in value
        if tag == "g" and element.get("id", "").startswith("step:"):
            seen_steps.add(element.get("id"))
    assert seen_steps == expected_steps


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_renders_inert_in_every_view(text: str, renderer: Renderer) -> None:
    model = _hostile_model(text)
    analysis = analyze(model, simulation_runs=0)
    work, journey = model.process("w"), model.process("j")
    diagrams = [
        (process_map(work, analysis.process("w")), {f"step:w:{s}" for s in work.graph}),
        (pain_heatmap(work, analysis.process("w")), {f"step:w:{s}" for s in work.graph}),
        (
            service_blueprint(model, "j", analysis),
            {f"step:j:{s}" for s in journey.graph} | {"step:w:a"},
        ),
    ]
    for proposal in analysis.proposals[:1]:
        ids = {f"step:w:{s}" for s in work.graph} | {
            f"step:w:{s}" for s in proposal.proposed.graph
        }
        diagrams.append((proposal_diff(work, proposal), ids))
    for diagram, steps in diagrams:
        result = renderer.render(diagram, "svg")
        _check_inert(result.data, steps)


def test_hostile_text_is_shown_literally(renderer: Renderer) -> None:
    text = "<script>alert(1)</script> & \\ \"quoted\""
    svg = renderer.render(process_map(_hostile_model(text).process("w")), "svg").data
    shown = " ".join(
        (t.text or "") for t in ET.fromstring(svg).iter(f"{SVG}text")
    )
    assert "<script>alert(1)</script>" in shown
    assert '\\ "quoted"' in shown


def test_hostile_text_renders_to_png_and_pdf_too(renderer: Renderer) -> None:
    diagram = process_map(_hostile_model(HOSTILE[5]).process("w"))
    assert renderer.render(diagram, "png").data.startswith(b"\x89PNG")
    assert renderer.render(diagram, "pdf").data.startswith(b"%PDF")


def test_clean_drops_control_characters_and_joins_lines() -> None:
    assert clean("a\x00b\x0bc\x1bd\ufffe\ue000 e\n\tf") == "abcd\ue000 e f"


def test_labels_are_never_html_and_keep_backslashes_escaped() -> None:
    label = label_text("<b>x</b> \\", width=40)
    assert isinstance(label, graphviz.quoting.NoHtml)
    assert graphviz.quoting.quote(label) == '"<b>x</b> \\\\"'
    assert plain("<x>") == "<x>" and isinstance(plain("<x>"), graphviz.quoting.NoHtml)


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "//evil.example/x", "http://x", "#a\"b", "/a b", "data:x"]
)
def test_links_other_than_plain_relative_ones_are_refused(link: str) -> None:
    with pytest.raises(ValueError, match="only relative links"):
        safe_link(link)


def test_relative_links_pass() -> None:
    assert safe_link("/processes/7/steps/a.b-c#top") == "/processes/7/steps/a.b-c#top"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
@example('\\"')
@example('x\\"]; n [URL="javascript:alert(1)"')
@example("\\")
@example("<<b>html</b>>")
def test_any_text_stays_inside_its_attribute(text: str) -> None:
    graph = graphviz.Digraph()
    graph.node("a", label=label_text(text), tooltip=plain(text))
    graph.node("b", label=plain(text))
    graph.edge("a", "b", label=plain(text))
    parsed = pygraphviz.AGraph(string=graph.source)
    assert sorted(parsed.nodes()) == ["a", "b"]
    assert parsed.number_of_edges() == 1
    # The label arrives exactly as built: quoting added nothing and lost nothing.
    assert parsed.get_node("a").attr["label"] == str(label_text(text))
    assert parsed.get_node("b").attr["label"] == str(plain(text))
    for node in parsed.nodes():
        assert not node.attr.get("URL") and not node.attr.get("href")
    assert not parsed.get_edge("a", "b").attr.get("URL")
