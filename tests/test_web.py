"""The read-only web app: the model library and each model's analysis."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from markupsafe import escape

from web import create_app
from workflow.analysis import analyze
from workflow.report import format_minutes
from workflow.yaml_format import load_model

MODELS = Path(__file__).parent.parent / "process_models"
SHIPPED = sorted(MODELS.glob("*.yaml"))

TINY = """\
leanlane: 1
name: {model_name}
processes:
  - id: p
    name: Proc
    cases_per_year: 1000
    lanes:
      - {{id: clerk, cost_per_hour: 40}}
    steps:
      - {{id: s, name: Start, kind: start, lane: clerk}}
      - id: work
        name: {step_name}
        lane: clerk
        touch_minutes: 10
        wait_minutes: 60
        value_class: NVA
      - {{id: keep, name: Keep, lane: clerk, touch_minutes: 5, value_class: VA}}
      - {{id: e, name: End, kind: end, lane: clerk}}
    flows:
      - s -> work
      - work -> keep
      - keep -> e
"""
SCRIPT = "<script>alert(1)</script>"


def client_for(models_dir: Path, **config):
    app = create_app({"TESTING": True, "MODELS_DIR": str(models_dir), **config})
    return app.test_client()


def html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def shipped():
    return client_for(MODELS)


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


# --- index ---------------------------------------------------------------------------------------
def test_the_index_lists_every_shipped_model_by_name_with_a_link_to_its_page(shipped):
    response = shipped.get("/")

    page = html(response)
    assert response.status_code == 200
    assert SHIPPED
    for path in SHIPPED:
        model = load_model(path)
        assert f'<a href="/models/{path.stem}">{escape(model.name)}</a>' in page
        for process in model.processes:
            assert str(escape(process.name)) in page
    assert page.count('href="/models/') == len(SHIPPED)


def test_the_index_of_an_empty_folder_shows_the_empty_state(models_dir):
    response = client_for(models_dir).get("/")

    assert response.status_code == 200
    assert "No models yet" in html(response)
    assert 'href="/models/' not in html(response)


def test_the_index_ignores_files_that_are_not_yaml_models(models_dir):
    (models_dir / "notes.txt").write_text("not a model", encoding="utf-8")
    (models_dir / "tiny.yaml").write_text(
        TINY.format(model_name="Tiny", step_name="Work"), encoding="utf-8"
    )

    page = html(client_for(models_dir).get("/"))

    assert '<a href="/models/tiny">Tiny</a>' in page
    assert "notes" not in page


def test_every_model_the_index_links_to_opens(models_dir):
    for name in ("good", "my model", "quarterly-review.v2"):
        (models_dir / f"{name}.yaml").write_text(
            TINY.format(model_name=f"Model {name}", step_name="Work"), encoding="utf-8"
        )
    client = client_for(models_dir)

    links = re.findall(r'href="(/models/[^"]*)"', html(client.get("/")))

    assert "/models/good" in links
    for link in links:
        assert client.get(link).status_code == 200, link


def test_the_stylesheet_is_served(shipped):
    response = shipped.get("/static/leanlane.css")

    assert response.status_code == 200
    assert response.mimetype == "text/css"
    response.close()


# --- model page ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_a_model_page_shows_metrics_hotspots_and_proposals(shipped, path):
    expected = analyze(load_model(path), as_of=dt.date(2026, 11, 23), simulation_runs=0)

    response = shipped.get(f"/models/{path.stem}")

    page = html(response)
    assert response.status_code == 200
    assert f"<h1>{escape(expected.model.name)}</h1>" in page
    assert page.count("<dt>Lead time</dt>") == len(expected.processes)
    for label in ("PCE", "Flow efficiency", "Handoffs", "Staff hours / year", "p50 / p90"):
        assert page.count(f"<dt>{label}</dt>") == len(expected.processes)
    for item in expected.processes:
        assert str(escape(item.process.name)) in page
        assert f"<dd>{format_minutes(item.metrics.lead_minutes)}</dd>" in page
    assert page.count("<h3>Hotspots</h3>") == len(expected.processes)
    rows = sum(min(8, len(item.scores)) for item in expected.processes)
    assert page.count('<th scope="row">') == rows
    assert "<h2>Proposals</h2>" in page
    assert page.count("<code>") == len(expected.proposals)
    for proposal in expected.proposals:
        assert f"<code>{escape(proposal.id)}</code>" in page
        assert str(escape(proposal.title)) in page


def test_an_unknown_model_is_404(shipped):
    assert shipped.get("/models/no_such_model").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/models/..%2F..%2Fetc%2Fpasswd",
        "/models/../x",
        "/models/..%2Fsecret",
        "/models/%2E%2E",
        "/models/secret%00",
    ],
)
def test_a_slug_that_tries_to_leave_the_models_folder_is_404(tmp_path, models_dir, url):
    (tmp_path / "secret.yaml").write_text(
        TINY.format(model_name="Secret", step_name="Work"), encoding="utf-8"
    )

    response = client_for(models_dir).get(url)

    assert response.status_code == 404
    assert "Secret" not in html(response)


def test_markup_in_a_step_name_is_escaped_on_the_model_page(models_dir):
    (models_dir / "xss.yaml").write_text(
        TINY.format(model_name="Escaping", step_name=f"'{SCRIPT}'"), encoding="utf-8"
    )

    response = client_for(models_dir).get("/models/xss")

    page = html(response)
    assert response.status_code == 200
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # the step is a hotspot and the subject of an Eliminate proposal, so both were rendered
    assert f'<th scope="row">{escape(SCRIPT)}</th>' in page
    assert "Eliminate" in page


def test_markup_in_a_model_name_is_escaped_on_the_index(models_dir):
    (models_dir / "xss.yaml").write_text(
        TINY.format(model_name=f"'{SCRIPT}'", step_name="Work"), encoding="utf-8"
    )

    page = html(client_for(models_dir).get("/"))

    assert "<script" not in page
    assert f'<a href="/models/xss">{escape(SCRIPT)}</a>' in page


# --- invalid models ------------------------------------------------------------------------------
def write_misspelled(models_dir: Path) -> Path:
    path = models_dir / "broken.yaml"
    text = TINY.format(model_name="Broken", step_name="Work")
    path.write_text(text.replace("touch_minutes: 10", "tuch_minutes: 10"), encoding="utf-8")
    return path


def test_an_invalid_model_page_lists_its_problems_with_status_422(models_dir):
    path = write_misspelled(models_dir)

    response = client_for(models_dir).get("/models/broken")

    page = html(response)
    assert response.status_code == 422
    assert "broken cannot be analysed" in page
    assert f"{path}: line 14: processes[p].steps[work].tuch_minutes: unknown field" in page
    assert str(escape("did you mean 'touch_minutes'?")) in page


def test_the_index_shows_the_error_of_an_invalid_model_next_to_the_valid_ones(models_dir):
    write_misspelled(models_dir)
    (models_dir / "good.yaml").write_text(
        TINY.format(model_name="Good model", step_name="Work"), encoding="utf-8"
    )

    response = client_for(models_dir).get("/")

    page = html(response)
    assert response.status_code == 200
    assert '<a href="/models/broken">broken</a>' in page
    assert '<p class="error">' in page
    assert "tuch_minutes: unknown field" in page
    assert '<a href="/models/good">Good model</a>' in page


def test_markup_quoted_in_an_error_message_is_escaped(models_dir):
    text = TINY.format(model_name="Broken", step_name="Work")
    (models_dir / "broken.yaml").write_text(
        text.replace("touch_minutes: 10", f"'{SCRIPT}': 10"), encoding="utf-8"
    )
    client = client_for(models_dir)

    model_page = html(client.get("/models/broken"))
    index = html(client.get("/"))

    for page in (model_page, index):
        assert "<script" not in page
        assert "&lt;script&gt;" in page


@pytest.mark.parametrize(
    "bad_value",
    ["!!bool maybe", "!!timestamp soon", "1" + "0" * 400],
    ids=["bool_tag_on_a_word", "timestamp_tag_on_a_word", "huge_integer"],
)
def test_a_file_the_loader_cannot_read_is_shown_as_an_error_not_a_server_error(
    models_dir, bad_value
):
    text = TINY.format(model_name="Odd", step_name="Work")
    (models_dir / "odd.yaml").write_text(
        text.replace("touch_minutes: 10", f"touch_minutes: {bad_value}"), encoding="utf-8"
    )
    client = client_for(models_dir, PROPAGATE_EXCEPTIONS=False)

    index = client.get("/")
    model_page = client.get("/models/odd")

    assert index.status_code == 200
    assert '<p class="error">' in html(index)
    assert model_page.status_code == 422


LOOP = (
    TINY.format(model_name="Loop", step_name="Work")
    .replace(
        "      - {id: e,",
        "      - {id: ok, name: OK?, kind: decision, lane: clerk}\n      - {id: e,",
    )
    .replace(
        "      - keep -> e\n",
        "      - keep -> ok\n"
        "      - {from: ok, to: work, probability: 0.9999999, rework: true}\n"
        "      - {from: ok, to: e, probability: 0.0000001}\n",
    )
)
HUGE_MINUTES = (
    TINY.format(model_name="Huge", step_name="Work")
    .replace("touch_minutes: 10", "touch_minutes: 1.0e+308")
    .replace("wait_minutes: 60", "wait_minutes: 1.0e+308")
)


@pytest.mark.parametrize("text", [LOOP, HUGE_MINUTES], ids=["rare_loop_exit", "huge_minutes"])
def test_a_model_with_extreme_figures_is_refused_with_its_reason_never_a_server_error(
    models_dir, text
):
    (models_dir / "extreme.yaml").write_text(text, encoding="utf-8")
    client = client_for(models_dir, PROPAGATE_EXCEPTIONS=False)
    assert client.get("/").status_code == 200

    response = client.get("/models/extreme")

    assert response.status_code == 422
    assert "processes[p].steps[work]" in html(response)
