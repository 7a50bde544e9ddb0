"""Process owners map processes in the browser: every editor route, its validation, version
conflicts, confirmations before destructive actions, and who may use it."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from tests.conftest import MODELS, PASSWORD
from web import create_app, database, rendering
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.interchange.bpmn_import import import_bpmn
from workflow.services import processes
from workflow.vocabulary import Perspective
from workflow.yaml_format import loads_model


@pytest.fixture
def org(make):
    return make.org()


@pytest.fixture
def owner(make, org, client):
    user = make.user(org, "owner")
    make.login(client, user)
    return user


@pytest.fixture
def row(app, session, org, owner):
    """A fresh employee process at version 1: start -> end."""
    created = processes.create_process(
        session,
        org.id,
        owner.id,
        key="kyc",
        name="Know your customer",
        perspective=Perspective.EMPLOYEE_PROCESS,
        renderer=rendering.renderer(app),
        step_url=rendering.step_url,
    )
    session.commit()
    return created


def current(session, row):
    session.expire_all()
    fresh = session.get(t.Process, row.id)
    version = repo.current_version(session, fresh)
    return fresh, version, repo.parse_document(version.document).process


def text(response) -> str:
    return response.get_data(as_text=True)


def add_step(client, row, base=1, **fields):
    data = {"base_version": base, "name": "Check ID", "place": "start>end", "kind": "task"}
    data.update(fields)
    return client.post(f"/processes/{row.id}/edit/steps/new", data=data)


# --- creating ----------------------------------------------------------------------------------
def test_an_owner_creates_a_process_that_starts_as_start_to_end(client, owner, session):
    assert client.get("/processes/new").status_code == 200
    response = client.post(
        "/processes/new", data={"name": "Open an account", "perspective": "customer_journey"}
    )
    assert response.status_code == 302
    created = session.scalar(select(t.Process).where(t.Process.org_id == owner.org_id))
    assert created.key == "open_an_account"
    assert created.public_token
    assert response.headers["Location"] == f"/processes/{created.id}/edit"
    _row, version, process = current(session, created)
    assert [s.id for s in process.steps()] == ["start", "end"]
    assert version.summary == "Created"


def test_creating_a_process_names_the_missing_name_and_a_taken_id(client, owner, row):
    empty = client.post("/processes/new", data={"name": "", "perspective": "employee_process"})
    assert empty.status_code == 422
    assert "Give the process a name." in text(empty)
    taken = client.post(
        "/processes/new", data={"name": "Other", "key": "kyc", "perspective": "employee_process"}
    )
    assert taken.status_code == 422
    assert re.search(r'id="key-error"[^>]*>Another process of your organisation', text(taken))


# --- the editor --------------------------------------------------------------------------------
def test_the_editor_shows_the_diagram_inline_with_steps_and_empty_states(client, row):
    page = text(client.get(f"/processes/{row.id}/edit"))
    assert "<svg" in page
    assert "Know your customer" in page
    assert "No lanes yet" in page and "Nobody is assigned yet" in page
    assert 'name="base_version" type="hidden" value="1"' in page


def test_a_journeys_editor_shows_its_public_feedback_link_and_poster(client, owner, session):
    client.post(
        "/processes/new", data={"name": "Open an account", "perspective": "customer_journey"}
    )
    journey = session.scalar(select(t.Process).where(t.Process.org_id == owner.org_id))
    page = text(client.get(f"/processes/{journey.id}/edit"))
    assert f"/j/{journey.public_token}/poster" in page
    assert f"http://localhost/j/{journey.public_token}" in page


def test_adding_a_step_saves_a_new_version_and_redraws_the_diagram(client, row, session):
    response = add_step(client, row)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/processes/{row.id}/edit")
    fresh, version, process = current(session, row)
    assert fresh.current_version == 2
    assert version.summary == "Added step Check ID"
    assert [s.id for s in process.steps()] == ["start", "check_id", "end"]
    assert "Check ID" in version.map_svg
    assert not version.problems
    assert "Saved version 2: Added step Check ID." in text(client.get(f"/processes/{row.id}/edit"))


def test_a_step_keeps_every_attribute_the_owner_enters(client, row, session):
    client.post(
        f"/processes/{row.id}/edit/lanes/new",
        data={"base_version": 1, "name": "Clerk", "kind": "role", "cost_per_hour": "40"},
    )
    response = add_step(
        client,
        row,
        base=2,
        id="verify",
        name="Verify documents",
        kind="approval",
        lane="clerk",
        layer="backstage",
        touch_minutes="12.5",
        wait_minutes="60",
        volume="1200",
        value_class="BVA",
        customer_value="2",
        business_value="5",
        required_by="AML directive",
        pct_complete_accurate="80",
        waste=["waiting", "defects"],
        systems="CRM\nScanner\n",
        inputs="passport",
        outputs="verified file",
        customer_name="We check your documents",
        channel="web",
        description="Four-eyes check",
    )
    assert response.status_code == 302, text(response)
    _row, _version, process = current(session, row)
    step = process.step("verify")
    assert (
        step.kind.value == "approval" and step.lane == "clerk" and step.layer.value == "backstage"
    )
    assert (step.touch_minutes, step.wait_minutes, step.volume) == (12.5, 60, 1200)
    assert step.value_class.value == "BVA" and step.business_value == 5
    assert step.required_by == "AML directive" and step.pct_complete_accurate == 80
    assert {w.value for w in step.waste} == {"waiting", "defects"}
    assert step.systems == ("CRM", "Scanner")
    assert step.customer_name == "We check your documents" and step.channel == "web"


def test_step_field_problems_are_shown_next_to_the_field(client, row, session):
    bad = add_step(client, row, touch_minutes="soon", customer_value="9")
    assert bad.status_code == 422
    page = text(bad)
    assert 'id="touch_minutes-error"' in page and 'id="customer_value-error"' in page
    assert "Touch time (minutes)" in page
    taken = add_step(client, row, id="end")
    assert taken.status_code == 422
    assert re.search(
        r'id="id-error"[^>]*>Another step of this process already has the id', text(taken)
    )
    assert current(session, row)[0].current_version == 1


def test_a_stale_version_is_refused_with_the_users_input_kept(client, row, session):
    assert add_step(client, row, name="First").status_code == 302
    stale = add_step(client, row, base=1, name="Second thoughts")
    assert stale.status_code == 409
    page = text(stale)
    assert "changed by someone else" in page
    assert 'value="Second thoughts"' in page
    assert 'name="base_version" type="hidden" value="2"' in page
    assert current(session, row)[0].current_version == 2


def test_an_unconnected_step_is_saved_as_a_draft_and_the_editor_says_what_to_fix(
    client, row, session
):
    response = add_step(client, row, name="Loose end", place="")
    assert response.status_code == 302
    _row, version, _process = current(session, row)
    assert "no incoming flow" in version.problems
    page = text(client.get(f"/processes/{row.id}/edit"))
    assert "This version is a draft" in page
    assert "Add a flow into it from an earlier step" in page
    assert f"/processes/{row.id}/edit/flows/new?target=loose_end" in page


def test_an_owner_edits_a_step_and_the_summary_names_what_changed(client, row, session):
    add_step(client, row)
    form = client.get(f"/processes/{row.id}/edit/steps/check_id")
    assert 'value="Check ID"' in text(form)
    response = client.post(
        f"/processes/{row.id}/edit/steps/check_id",
        data={
            "base_version": 2,
            "name": "Check ID",
            "id": "check_id",
            "kind": "task",
            "touch_minutes": "7",
        },
    )
    assert response.status_code == 302
    _row, version, process = current(session, row)
    assert process.step("check_id").touch_minutes == 7
    assert version.summary == "Changed step Check ID: touch minutes"
    assert client.get(f"/processes/{row.id}/edit/steps/nope").status_code == 404


def test_changing_a_step_id_keeps_its_flags_and_customer_answers(client, row, session, org):
    add_step(client, row)
    session.add(
        t.Flag(
            org_id=org.id,
            process_id=row.id,
            step_id="check_id",
            source="staff",
            category="waiting",
            severity=3,
        )
    )
    session.add(
        t.CesAnswer(org_id=org.id, process_id=row.id, step_id="check_id", score=2, scale="ces-7")
    )
    session.commit()
    response = client.post(
        f"/processes/{row.id}/edit/steps/check_id",
        data={"base_version": 2, "name": "Check ID", "id": "verify_id", "kind": "task"},
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.scalars(select(t.Flag.step_id)).all() == ["verify_id"]
    assert session.scalars(select(t.CesAnswer.step_id)).all() == ["verify_id"]


def test_deleting_a_step_asks_first_and_reconnects_the_flow(client, row, session):
    add_step(client, row)
    confirm = client.get(f"/processes/{row.id}/edit/steps/check_id/delete")
    assert confirm.status_code == 200
    assert "Delete step “Check ID”?" in text(confirm)
    assert "Start → Done" in text(confirm)
    assert current(session, row)[0].current_version == 2
    done = client.post(f"/processes/{row.id}/edit/steps/check_id/delete", data={"base_version": 2})
    assert done.status_code == 302
    _row, version, process = current(session, row)
    assert [s.id for s in process.steps()] == ["start", "end"]
    assert process.graph.has_edge("start", "end")
    assert version.summary == "Deleted step Check ID"


def test_the_start_step_cannot_be_deleted_and_the_page_says_why(client, row, session):
    page = client.get(f"/processes/{row.id}/edit/steps/start/delete")
    assert "is the start of the process and cannot be deleted" in text(page)
    refused = client.post(f"/processes/{row.id}/edit/steps/start/delete", data={"base_version": 1})
    assert refused.status_code == 422
    assert current(session, row)[0].current_version == 1


def test_steps_move_up_and_down_in_the_list(client, row, session):
    add_step(client, row)
    response = client.post(
        f"/processes/{row.id}/edit/steps/check_id/move", data={"base_version": 2, "direction": "up"}
    )
    assert response.status_code == 302
    _row, version, process = current(session, row)
    assert [s.id for s in process.steps()] == ["check_id", "start", "end"]
    assert version.summary == "Moved step Check ID up"
    first = client.post(
        f"/processes/{row.id}/edit/steps/check_id/move",
        data={"base_version": 3, "direction": "up"},
        follow_redirects=True,
    )
    assert "already the first step" in text(first)
    assert current(session, row)[0].current_version == 3


# --- flows ----------------------------------------------------------------------------------
def test_an_owner_adds_a_flow_and_is_told_which_field_is_wrong(client, row, session):
    add_step(client, row, place="")
    missing = client.post(f"/processes/{row.id}/edit/flows/new", data={"base_version": 2})
    assert missing.status_code == 422
    assert "Choose where the flow starts." in text(missing)
    twice = client.post(
        f"/processes/{row.id}/edit/flows/new",
        data={"base_version": 2, "source": "start", "target": "end"},
    )
    assert twice.status_code == 422 and "already a flow" in text(twice)
    added = client.post(
        f"/processes/{row.id}/edit/flows/new",
        data={"base_version": 2, "source": "start", "target": "check_id", "label": "rarely"},
    )
    assert added.status_code == 302
    _row, version, process = current(session, row)
    assert process.flow("start", "check_id").label == "rarely"
    assert version.summary == "Added flow Start → Check ID"


def test_every_way_out_of_a_decision_is_edited_at_once(client, row, session):
    add_step(client, row, name="Complete?", id="complete", kind="decision")
    add_step(client, row, base=2, name="Ask again", id="ask", place="complete>end")
    client.post(
        f"/processes/{row.id}/edit/flows/new",
        data={"base_version": 3, "source": "complete", "target": "end"},
    )
    assert "ways out, so each needs a probability" in current(session, row)[1].problems
    page = client.get(f"/processes/{row.id}/edit/steps/complete/exits")
    assert page.status_code == 200 and "Ways out of “Complete?”" in text(page)
    response = client.post(
        f"/processes/{row.id}/edit/steps/complete/exits",
        data={
            "base_version": 4,
            "exits-0-target": "ask",
            "exits-0-probability": "0.2",
            "exits-0-caption": "missing",
            "exits-1-target": "end",
            "exits-1-probability": "0.8",
        },
    )
    assert response.status_code == 302, text(response)
    _row, version, process = current(session, row)
    assert process.flow("complete", "ask").probability == 0.2
    assert process.flow("complete", "end").probability == 0.8
    assert version.summary == "Changed the ways out of Complete?"
    removed = client.post(
        f"/processes/{row.id}/edit/steps/complete/exits",
        data={
            "base_version": 5,
            "exits-0-target": "ask",
            "exits-0-remove": "y",
            "exits-1-target": "end",
        },
    )
    assert removed.status_code == 302
    assert not current(session, row)[2].graph.has_edge("complete", "ask")
    bad = client.post(
        f"/processes/{row.id}/edit/steps/complete/exits",
        data={"base_version": 6, "exits-0-target": "end", "exits-0-probability": "2"},
    )
    assert bad.status_code == 422 and "share from 0 to 1" in text(bad)


# --- lanes and properties ---------------------------------------------------------------------
def test_lanes_are_added_edited_and_deleted_after_confirmation(client, row, session):
    bad = client.post(
        f"/processes/{row.id}/edit/lanes/new",
        data={"base_version": 1, "name": "", "kind": "role", "cost_per_hour": "-3"},
    )
    assert bad.status_code == 422
    assert "Give the lane a name." in text(bad) and "Must be 0 or more." in text(bad)
    client.post(
        f"/processes/{row.id}/edit/lanes/new",
        data={"base_version": 1, "name": "Clerk", "kind": "role", "cost_per_hour": "40"},
    )
    add_step(client, row, base=2, lane="clerk")
    edited = client.post(
        f"/processes/{row.id}/edit/lanes/clerk",
        data={
            "base_version": 3,
            "name": "Agent",
            "id": "agent",
            "kind": "team",
            "cost_per_hour": "55",
        },
    )
    assert edited.status_code == 302
    _row, _version, process = current(session, row)
    assert process.step("check_id").lane == "agent"
    assert process.lane("agent").cost_per_hour == 55
    confirm = client.get(f"/processes/{row.id}/edit/lanes/agent/delete")
    assert "1 step in this lane: Check ID" in text(confirm)
    assert current(session, row)[0].current_version == 4
    client.post(f"/processes/{row.id}/edit/lanes/agent/delete", data={"base_version": 4})
    _row, version, process = current(session, row)
    assert process.lanes == () and process.step("check_id").lane is None
    assert version.summary == "Deleted lane Agent"


def test_process_properties_are_saved_and_the_name_is_required(client, row, session):
    empty = client.post(
        f"/processes/{row.id}/edit/properties",
        data={"base_version": 1, "name": "", "perspective": "employee_process"},
    )
    assert empty.status_code == 422 and "Give the process a name." in text(empty)
    done = client.post(
        f"/processes/{row.id}/edit/properties",
        data={
            "base_version": 1,
            "name": "KYC checks",
            "perspective": "employee_process",
            "volume": "5000",
            "description": "Who is the customer?",
        },
    )
    assert done.status_code == 302
    fresh, version, process = current(session, row)
    assert fresh.name == "KYC checks" and process.volume == 5000
    assert version.summary == "Changed process name, cases per year, description"


# --- journeys, links and members ---------------------------------------------------------------
def test_journey_steps_are_linked_to_the_employee_steps_that_serve_them(
    client, make, org, owner, session
):
    rows = make.model(org)
    journey, claims = rows["file_claim"], rows["claims"]
    page = client.get(f"/processes/{journey.id}/edit/links/report")
    assert page.status_code == 200
    assert f'value="{claims.id}:fnol" checked' in text(page)
    saved = client.post(
        f"/processes/{journey.id}/edit/links/report",
        data={"served": [f"{claims.id}:register", f"{claims.id}:fnol"]},
    )
    assert saved.status_code == 302
    links = session.scalars(
        select(t.StepLink.step).where(
            t.StepLink.journey_id == journey.id, t.StepLink.journey_step == "report"
        )
    ).all()
    assert sorted(links) == ["fnol", "register"]
    editor = text(client.get(f"/processes/{journey.id}/edit"))
    assert "Served by" in editor
    assert client.get(f"/processes/{claims.id}/edit/links/fnol").status_code == 404


def test_staff_are_assigned_to_a_process_and_removed(client, make, org, row, session):
    clerk = make.user(org, "staff", name="Clara Clerk")
    missing = client.post(f"/processes/{row.id}/edit/members", data={"user": ""})
    assert missing.status_code == 422 and "Choose a person to add." in text(missing)
    added = client.post(f"/processes/{row.id}/edit/members", data={"user": str(clerk.id)})
    assert added.status_code == 302
    assert "Clara Clerk" in text(client.get(f"/processes/{row.id}/edit"))
    assert session.scalar(select(t.ProcessMember).where(t.ProcessMember.user_id == clerk.id))
    client.post(f"/processes/{row.id}/edit/members/{clerk.id}/remove")
    session.expire_all()
    assert not session.scalar(select(t.ProcessMember).where(t.ProcessMember.user_id == clerk.id))
    stranger = make.user(make.org("Other"), "staff")
    assert (
        client.post(f"/processes/{row.id}/edit/members", data={"user": str(stranger.id)})
    ).status_code == 422


# --- history, compare, restore ----------------------------------------------------------------
def test_history_lists_versions_with_summary_author_and_pages(client, row, owner, session):
    for number in range(1, 23):
        add_step(client, row, base=number, name=f"Step {number}", place="")
    first = text(client.get(f"/processes/{row.id}/history"))
    assert "23 versions" in first and "Added step Step 22" in first and owner.name in first
    assert "Page 1 of 2" in first
    second = text(client.get(f"/processes/{row.id}/history?page=2"))
    assert "Created" in second and "Added step Step 22" not in second


def test_an_old_version_can_be_viewed_with_its_diagram(client, row):
    add_step(client, row)
    page = client.get(f"/processes/{row.id}/history/1")
    assert page.status_code == 200
    assert "version 1" in text(page) and "<svg" in text(page)
    assert "check_id" not in text(page)
    assert client.get(f"/processes/{row.id}/history/9").status_code == 404


def test_two_versions_are_compared_attribute_by_attribute(client, row):
    add_step(client, row)
    client.post(
        f"/processes/{row.id}/edit/steps/check_id",
        data={
            "base_version": 2,
            "name": "Check ID",
            "id": "check_id",
            "kind": "task",
            "touch_minutes": "7",
            "channel": "branch",
        },
    )
    page = text(client.get(f"/processes/{row.id}/compare?a=1&b=3"))
    assert "Steps added" in page and "Check ID" in page
    assert "Flows removed" in page and "start → end" in page
    whole = text(client.get(f"/processes/{row.id}/compare?a=2&b=3"))
    assert "Touch minutes" in whole and "Channel" in whole
    assert "+    touch_minutes: 7" in whole
    bad = client.get(f"/processes/{row.id}/compare?a=1&b=99")
    assert bad.status_code == 422 and "Choose two versions from 1 to 3." in text(bad)


def test_restoring_asks_first_then_adds_a_new_version(client, row, session):
    add_step(client, row)
    confirm = client.get(f"/processes/{row.id}/history/1/restore")
    assert confirm.status_code == 200 and "Steps removed" in text(confirm)
    assert current(session, row)[0].current_version == 2
    stale = client.post(f"/processes/{row.id}/history/1/restore", data={"base_version": 1})
    assert stale.status_code == 409
    done = client.post(f"/processes/{row.id}/history/1/restore", data={"base_version": 2})
    assert done.status_code == 302
    fresh, version, process = current(session, row)
    assert fresh.current_version == 3 and version.summary == "Restored version 1"
    assert [s.id for s in process.steps()] == ["start", "end"]


# --- import and export --------------------------------------------------------------------------
def upload(client, content: bytes, name: str = "model.yaml"):
    return client.post(
        "/processes/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_a_model_file_is_imported(client, owner, session):
    assert client.get("/processes/import").status_code == 200
    response = upload(client, (MODELS / "insurance_claim.yaml").read_bytes(), "claims.yaml")
    assert response.status_code == 302
    keys = set(session.scalars(select(t.Process.key).where(t.Process.org_id == owner.org_id)))
    assert keys == {"file_claim", "claims"}
    listed = text(client.get("/processes"))
    assert "Imported 2 processes" in listed


def test_a_broken_file_shows_each_problem_with_its_line_and_stores_nothing(client, owner, session):
    broken = (
        (MODELS / "insurance_claim.yaml")
        .read_text()
        .replace("touch_minutes: 20", "touch_minutes: -20", 1)
    )
    response = upload(client, broken.encode())
    assert response.status_code == 422
    page = text(response)
    assert "not a valid Leanlane model" in page
    assert re.search(r"line \d+: processes\[file_claim\]\.steps\[report\]\.touch_minutes", page)
    assert session.scalar(select(t.Process).where(t.Process.org_id == owner.org_id)) is None
    binary = upload(client, b"\xff\xfe\x00 not text")
    assert binary.status_code == 422 and "not UTF-8 text" in text(binary)
    nothing = client.post("/processes/import", data={}, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "Choose a .yaml file to import." in text(nothing)


def test_a_process_and_the_organisation_are_exported_as_yaml(client, make, org, owner):
    rows = make.model(org)
    one = client.get(f"/processes/{rows['claims'].id}/export.yaml")
    assert one.status_code == 200
    assert "attachment" in one.headers["Content-Disposition"]
    assert loads_model(text(one)).processes[0].id == "claims"
    whole = client.get("/processes/export.yaml")
    model = loads_model(text(whole))
    assert {p.id for p in model.processes} == {"file_claim", "claims"}
    assert model.links
    assert client.get(f"/processes/{rows['claims'].id}/export.yaml?version=9").status_code == 404


def test_a_process_is_exported_as_bpmn_that_imports_back(client, make, org, owner):
    rows = make.model(org)
    editor = text(client.get(f"/processes/{rows['claims'].id}/edit"))
    assert f"/processes/{rows['claims'].id}/export.bpmn" in editor
    assert f"/processes/{rows['claims'].id}/export.csv" in editor
    response = client.get(f"/processes/{rows['claims'].id}/export.bpmn")
    assert response.status_code == 200
    assert 'filename="claims-v1.bpmn"' in response.headers["Content-Disposition"]
    back = import_bpmn(response.data)
    assert [p.id for p in back.model.processes] == ["claims"]
    assert client.get(f"/processes/{rows['claims'].id}/export.bpmn?version=9").status_code == 404


# --- deleting a process -------------------------------------------------------------------------
def test_deleting_a_process_says_what_is_lost_and_needs_confirmation(
    client, make, org, owner, session
):
    rows = make.model(org)
    claims = rows["claims"]
    flags = len(session.scalars(select(t.Flag).where(t.Flag.process_id == claims.id)).all())
    page = text(client.get(f"/processes/{claims.id}/delete"))
    assert f"{flags} flag" in page and "1 version of its history" in page
    unticked = client.post(f"/processes/{claims.id}/delete", data={})
    assert unticked.status_code == 422 and "Tick the box to confirm." in text(unticked)
    assert session.get(t.Process, claims.id) is not None
    done = client.post(f"/processes/{claims.id}/delete", data={"confirm": "y"})
    assert done.status_code == 302 and done.headers["Location"] == "/processes"
    assert session.scalar(select(t.Process.id).where(t.Process.id == claims.id)) is None


# --- who may do what ----------------------------------------------------------------------------
def routes(row_id: int) -> list[tuple[str, str]]:
    base = f"/processes/{row_id}"
    return [
        ("GET", "/processes/new"),
        ("POST", "/processes/new"),
        ("GET", "/processes/import"),
        ("POST", "/processes/import"),
        ("GET", "/processes/export.yaml"),
        ("GET", f"{base}/edit"),
        ("POST", f"{base}/edit/properties"),
        ("GET", f"{base}/edit/steps/new"),
        ("POST", f"{base}/edit/steps/new"),
        ("GET", f"{base}/edit/steps/start"),
        ("POST", f"{base}/edit/steps/start/delete"),
        ("POST", f"{base}/edit/steps/start/move"),
        ("GET", f"{base}/edit/steps/start/exits"),
        ("POST", f"{base}/edit/flows/new"),
        ("POST", f"{base}/edit/lanes/new"),
        ("POST", f"{base}/edit/members"),
        ("GET", f"{base}/history"),
        ("GET", f"{base}/history/1"),
        ("GET", f"{base}/compare"),
        ("POST", f"{base}/history/1/restore"),
        ("GET", f"{base}/export.yaml"),
        ("GET", f"{base}/delete"),
        ("POST", f"{base}/delete"),
    ]


@pytest.mark.parametrize("role", ["staff", "reviewer"])
def test_staff_and_reviewers_cannot_use_the_editor(app, make, org, row, role):
    other = app.test_client()
    make.login(other, make.user(org, role))
    for method, url in routes(row.id):
        response = other.open(url, method=method, data={"base_version": 1, "confirm": "y"})
        assert response.status_code == 403, (method, url)


def test_admins_may_edit(app, make, org, row):
    admin = app.test_client()
    make.login(admin, make.user(org, "admin"))
    assert admin.get(f"/processes/{row.id}/edit").status_code == 200


def test_another_organisations_processes_are_not_found(app, make, row, session):
    stranger = app.test_client()
    make.login(stranger, make.user(make.org("Rival"), "owner"))
    for method, url in routes(row.id):
        if f"/processes/{row.id}/" not in url:
            continue
        response = stranger.open(url, method=method, data={"base_version": 1, "confirm": "y"})
        assert response.status_code == 404, (method, url)
    assert session.get(t.Process, row.id) is not None


def test_anonymous_visitors_are_sent_to_log_in(app, row):
    response = app.test_client().get(f"/processes/{row.id}/edit")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_editor_forms_are_refused_without_a_csrf_token(database_url, tmp_path, make, org, row):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "RATELIMIT_ENABLED": False,
            "RENDER_CACHE_DIR": str(tmp_path / "csrf-renders"),
        }
    )
    browser = app.test_client()
    owner = make.user(org, "owner")
    page = browser.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text(page)).group(1)
    login = browser.post(
        "/login", data={"email": owner.email, "password": PASSWORD, "csrf_token": token}
    )
    assert login.status_code == 302
    assert browser.get(f"/processes/{row.id}/edit").status_code == 200
    response = browser.post(
        f"/processes/{row.id}/edit/steps/new",
        data={"base_version": 1, "name": "Sneaky", "place": "start>end"},
    )
    database.engine(app).dispose()
    assert response.status_code == 400
    assert "form had expired" in text(response)
