"""A diagram whose layout runs past ``RENDER_TIME_LIMIT`` is drawn on the swimlane grid (or, at
worst, replaced by a clear note); the request still answers promptly and no worker hangs."""

from __future__ import annotations

import random
import time

import pytest

from web import rendering
from web.api.renders import NOTE_HEADER
from workflow.adapters import repository as repo
from workflow.generate import random_process
from workflow.model import ProcessModel
from workflow.services import api_tokens
from workflow.services.processes import import_model
from workflow.yaml_format import dumps_model

#: Steps of the generated process: far more than ``dot`` lays out in the tiny time limit.
STEPS = 400
TIME_LIMIT = 0.05
#: The grid gets at least a second after ``dot`` is stopped; the rest is generous margin for a
#: loaded machine. A hung worker would blow far past it.
ANSWER_WITHIN_SECONDS = 20.0


@pytest.fixture
def hurried_app(app):
    """The app with a layered layout and a time limit ``dot`` cannot meet."""
    app.config.update(RENDER_TIME_LIMIT=TIME_LIMIT, RENDER_LAYOUT="layered")
    rendering.init_app(app)
    return app


@pytest.fixture
def owner(make):
    return make.user(make.org(), "owner")


def large_model_text() -> str:
    process = random_process(random.Random(11), STEPS, lanes=6, process_id="large")
    return dumps_model(ProcessModel("Large", (process,)))


def test_the_renderer_uses_the_configured_layout_and_time_limit(hurried_app):
    drawer = rendering.renderer(hurried_app)

    assert drawer.layout == "layered"
    assert drawer.time_limit == TIME_LIMIT


def test_an_unknown_layout_is_refused_when_the_app_starts(app):
    app.config.update(RENDER_LAYOUT="spiral")

    with pytest.raises(ValueError, match="layout must be one of grid, layered"):
        rendering.init_app(app)


def test_a_render_past_its_time_limit_answers_promptly_with_the_grid_and_says_so(
    hurried_app, client, session, owner
):
    (row,) = import_model(session, owner.org_id, owner.id, large_model_text(), source="large")
    session.commit()
    _token_row, token = api_tokens.create_token(session, owner, "tests")
    session.commit()

    began = time.monotonic()
    response = client.get(
        f"/api/v1/processes/{row.id}/render?view=map&format=svg",
        headers={"Authorization": f"Bearer {token}"},
    )
    elapsed = time.monotonic() - began

    assert elapsed < ANSWER_WITHIN_SECONDS
    if response.status_code == 200:
        assert response.mimetype == "image/svg+xml"
        assert b"<svg" in response.data
        assert (
            "drawn on the swimlane grid because dot took longer than"
            in (response.headers[NOTE_HEADER])
        )
    else:
        assert response.status_code == 422
        assert "could not be drawn" in response.get_json()["error"]["message"]


def test_saving_a_large_process_past_the_time_limit_is_prompt_and_its_page_shows_a_map_or_a_note(
    hurried_app, client, session, make, owner
):
    began = time.monotonic()
    (row,) = import_model(
        session,
        owner.org_id,
        owner.id,
        large_model_text(),
        source="large",
        renderer=rendering.renderer(hurried_app),
        step_url=rendering.step_url,
    )
    session.commit()
    make.login(client, owner)
    page = client.get(f"/processes/{row.id}")
    elapsed = time.monotonic() - began

    assert elapsed < ANSWER_WITHIN_SECONDS
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    stored = repo.current_version(session, row).map_svg
    if stored:
        assert '<div class="diagram" id="process-map"><svg' in text
    else:
        assert "The map of this version could not be drawn." in text


def test_a_process_page_without_a_drawn_map_says_so_and_lists_the_steps(
    hurried_app, client, session, make, owner
):
    (row,) = import_model(session, owner.org_id, owner.id, large_model_text(), source="large")
    session.commit()
    make.login(client, owner)

    page = client.get(f"/processes/{row.id}")

    assert page.status_code == 200
    assert "The map of this version could not be drawn." in page.get_data(as_text=True)
