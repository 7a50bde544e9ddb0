"""The process page every role sees, step pages where people flag steps, and "My flags"."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.conftest import MODELS, PASSWORD
from web import create_app, database, rendering
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.services import processes, signals, words
from workflow.vocabulary import FlagStatus
from workflow.yaml_format import loads_model

ROLES = ("admin", "owner", "staff", "reviewer")


@pytest.fixture
def org(make):
    return make.org()


@pytest.fixture
def claims(make, org):
    """The shipped insurance example's employee process (imported flags included)."""
    return make.model(org)["claims"]


@pytest.fixture
def staff(make, org, client):
    user = make.user(org, "staff", name="Sam Staff")
    make.login(client, user)
    return user


def step_page(row, step="rekey") -> str:
    return f"/processes/{row.id}/steps/{step}"


def send_flag(client, row, step="rekey", **data):
    data.setdefault("category", "waiting")
    data.setdefault("severity", "3")
    return client.post(step_page(row, step), data=data)


def text_of(response) -> str:
    return response.get_data(as_text=True)


@contextmanager
def counted_queries(app):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = database.engine(app)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- the process page ----------------------------------------------------------------------


def test_the_process_page_shows_the_map_steps_and_open_flags_by_source(
    client, session, claims, staff
):
    page = client.get(f"/processes/{claims.id}")
    assert page.status_code == 200
    body = text_of(page)
    assert "<h1>Claims handling</h1>" in body and "Employee process" in body
    assert "<svg" in body and "<?xml" not in body and "<!DOCTYPE svg" not in body
    assert 'data-map-toggle aria-controls="process-map"' in body and "staff.js" in body
    assert f'xlink:href="/processes/{claims.id}/steps/rekey"' in body
    assert f'<a href="/processes/{claims.id}/steps/rekey#flag">Flag' in body
    rows = re.findall(r'<td><a href="/processes/\d+/steps/([^"]+)">', body)
    parsed = repo.parse_document(repo.current_version(session, claims).document)
    assert rows == [step.id for step in parsed.process.steps()]
    assert '<span class="tag count-staff">1 staff</span>' in body


def test_the_step_list_counts_customer_and_staff_flags_and_says_when_both_sides_agree(
    client, make, org, staff
):
    journey = make.model(org)["file_claim"]
    body = text_of(client.get(f"/processes/{journey.id}"))
    assert "Customer journey" in body
    assert '<span class="tag count-customer">' in body
    send_flag(client, journey, step="claim_form")
    body = text_of(client.get(f"/processes/{journey.id}"))
    assert '<span class="tag both">both sides</span>' in body


@pytest.mark.parametrize("role", ROLES)
def test_every_role_of_the_organisation_sees_the_process_page(client, make, org, claims, role):
    make.login(client, make.user(org, role))
    assert client.get(f"/processes/{claims.id}").status_code == 200
    assert client.get(step_page(claims)).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_another_organisations_process_and_steps_are_not_found(client, make, claims, role):
    make.login(client, make.user(make.org("Elsewhere"), role))
    assert client.get(f"/processes/{claims.id}").status_code == 404
    assert client.get(step_page(claims)).status_code == 404
    assert send_flag(client, claims).status_code == 404


def test_visitors_who_are_not_logged_in_are_sent_to_log_in(client, claims):
    for url in (f"/processes/{claims.id}", step_page(claims), "/my/flags"):
        response = client.get(url)
        assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_an_unknown_process_or_step_is_not_found(client, claims, staff):
    assert client.get("/processes/999999").status_code == 404
    assert client.get(step_page(claims, "no_such_step")).status_code == 404
    assert send_flag(client, claims, step="no_such_step").status_code == 404


def test_without_a_drawn_map_the_page_says_so_and_still_lists_the_steps(
    client, session, claims, staff
):
    current = repo.current_version(session, claims)
    current.map_svg = None
    session.commit()
    body = text_of(client.get(f"/processes/{claims.id}"))
    assert "<svg" not in body
    assert "could not be drawn" in body
    assert f'href="/processes/{claims.id}/steps/rekey"' in body


def test_a_version_with_shape_problems_says_so(client, session, make, org, staff):
    model = loads_model((MODELS / "insurance_claim.yaml").read_text(), "x")
    process = model.process("claims")
    graph = process.graph.copy()
    graph.remove_edge(*next(iter(graph.out_edges("fnol"))))
    row = processes.create_process(
        session,
        org.id,
        None,
        key="broken",
        name="Broken",
        perspective=process.perspective,
        process=process.with_graph(graph),
    )
    session.commit()
    body = text_of(client.get(f"/processes/{row.id}"))
    assert "This version still has shape problems" in body
    assert "could not be drawn" in body


@pytest.mark.parametrize(("role", "shown"), [("owner", True), ("staff", False)])
def test_owners_get_an_edit_link_when_the_editor_exists(
    app, client, make, org, claims, role, shown
):
    make.login(client, make.user(org, role))
    body = text_of(client.get(f"/processes/{claims.id}"))
    editor = "owners.editor" in app.view_functions
    assert (f"/processes/{claims.id}/edit" in body) == (shown and editor)


def test_the_process_page_runs_a_handful_of_queries_and_never_parses_or_lays_out(
    app, client, claims, staff, monkeypatch
):
    assert client.get(f"/processes/{claims.id}").status_code == 200

    def refuse(*_args, **_kwargs):
        raise AssertionError("the process page must not parse YAML or lay out a diagram")

    monkeypatch.setattr(repo, "loads_draft", refuse)
    monkeypatch.setattr(rendering.renderer(app), "render", refuse)
    with counted_queries(app) as statements:
        page = client.get(f"/processes/{claims.id}")
    assert page.status_code == 200
    assert len(statements) <= 4, statements


# --- the step page and the flag form --------------------------------------------------------


def test_the_step_page_explains_the_step_and_offers_the_flag_form(client, claims, staff):
    body = text_of(client.get(step_page(claims)))
    assert "<h1>Re-key claim form into the claims system</h1>" in body
    assert "done by Claims handler" in body
    assert "Working time" in body and "Comes after:" in body and "Leads to:" in body
    for category, label in words.CATEGORY_WORDS.items():
        assert f'value="{category.value}"' in body and label in body
    assert re.search(r'<input checked id="severity-2" name="severity"[^>]*value="3"', body)
    assert 'name="anonymous" type="checkbox"' in body


def test_flagging_from_the_step_page_records_the_flag_and_confirms_with_a_link_to_my_flags(
    client, session, claims, staff
):
    response = send_flag(
        client, claims, category="asked_twice", severity="4", text="Typed twice", idea="Import"
    )
    assert response.status_code == 302
    flag = session.query(t.Flag).filter_by(author_id=staff.id).one()
    assert response.headers["Location"] == f"/my/flags/{flag.id}?sent=1"
    assert (flag.step_id, flag.category, flag.severity) == ("rekey", "asked_twice", 4)
    assert (flag.text, flag.idea, flag.anonymous) == ("Typed twice", "Import", False)
    confirmation = text_of(client.get(response.headers["Location"]))
    assert "Flag sent" in confirmation and 'href="/my/flags"' in confirmation
    assert "Asked twice" in confirmation


def test_a_flag_needs_only_a_category_because_the_form_preselects_severity_three(
    client, session, claims, staff
):
    form = text_of(client.get(step_page(claims)))
    checked = re.findall(r'<input checked id="severity-\d" name="severity"[^>]*value="(\d)"', form)
    assert checked == ["3"]
    sent = client.post(step_page(claims), data={"category": "pointless", "severity": checked[0]})
    assert sent.status_code == 302
    assert session.query(t.Flag).filter_by(author_id=staff.id).one().severity == 3


def test_the_flag_form_names_each_wrong_field(client, session, claims, staff):
    response = client.post(step_page(claims), data={"text": "x" * 1001, "idea": "y" * 1001})
    assert response.status_code == 422
    body = text_of(response)
    assert '<a href="#category">What is wrong?</a>: Choose what is wrong with this step.' in body
    assert '<a href="#severity">How much does it hurt?</a>: Choose a severity from 1 to 5.' in body
    wrong = client.post(step_page(claims), data={"category": "waiting", "severity": "9"})
    assert wrong.status_code == 422
    assert "How much does it hurt?</a>: Choose a severity from 1 to 5." in text_of(wrong)
    assert "Keep the description to 1,000 characters." in body
    assert "Keep the idea to 1,000 characters." in body
    assert session.query(t.Flag).filter_by(author_id=staff.id).count() == 0


def test_an_unknown_category_is_refused(client, claims, staff):
    response = send_flag(client, claims, category="bad_luck")
    assert response.status_code == 422
    assert "Choose one of the listed problems." in text_of(response)


def test_user_text_is_escaped_on_the_step_page(client, claims, staff, make, org):
    send_flag(client, claims, text='<script>alert("x")</script>')
    body = text_of(client.get(step_page(claims)))
    assert "<script>alert" not in body and "&lt;script&gt;" in body


# --- me too ---------------------------------------------------------------------------------


def test_me_too_is_offered_on_other_peoples_flags_and_counts_once(
    app, client, session, make, org, claims, staff
):
    colleague = app.test_client()
    make.login(colleague, make.user(org, "staff", name="Cleo Colleague"))
    send_flag(colleague, claims, text="Slow screen")
    flag = session.query(t.Flag).filter_by(text="Slow screen").one()
    body = text_of(client.get(step_page(claims)))
    action = f"/processes/{claims.id}/steps/rekey/flags/{flag.id}/me-too"
    assert f'action="{action}"' in body
    first = client.post(action, data={"agree": "1"})
    assert first.status_code == 302
    assert first.headers["Location"].endswith(f"/steps/rekey#flag-{flag.id}")
    client.post(action, data={"agree": "1"})
    assert session.query(t.FlagVote).filter_by(flag_id=flag.id).count() == 1
    body = text_of(client.get(step_page(claims)))
    assert "1 said &ldquo;me too&rdquo;" in body and "Take back my &ldquo;me too&rdquo;" in body
    client.post(action, data={"agree": "0"})
    assert session.query(t.FlagVote).filter_by(flag_id=flag.id).count() == 0


def test_no_me_too_button_on_ones_own_flag_and_pressing_it_anyway_is_refused(
    client, session, claims, staff
):
    send_flag(client, claims, text="Mine")
    flag = session.query(t.Flag).filter_by(text="Mine").one()
    action = f"/processes/{claims.id}/steps/rekey/flags/{flag.id}/me-too"
    assert f'action="{action}"' not in text_of(client.get(step_page(claims)))
    refused = client.post(action, data={"agree": "1"}, follow_redirects=True)
    assert "This is your own flag" in text_of(refused)
    assert session.query(t.FlagVote).count() == 0


def test_me_too_on_another_organisations_flag_is_not_found(client, make, claims, session):
    flag = session.query(t.Flag).filter_by(process_id=claims.id).first()
    other_org = make.org("Elsewhere")
    other = make.model(other_org)["claims"]
    make.login(client, make.user(other_org, "staff"))
    for process_id in (claims.id, other.id):
        url = f"/processes/{process_id}/steps/{flag.step_id}/flags/{flag.id}/me-too"
        assert client.post(url, data={"agree": "1"}).status_code == 404
    assert session.query(t.FlagVote).count() == 0


def test_a_malformed_me_too_is_a_bad_request(client, session, claims, staff):
    flag = session.query(t.Flag).filter_by(process_id=claims.id).first()
    url = f"/processes/{claims.id}/steps/{flag.step_id}/flags/{flag.id}/me-too"
    assert client.post(url, data={"agree": "maybe"}).status_code == 400


# --- anonymity ------------------------------------------------------------------------------


def test_anonymous_flags_show_the_name_to_admins_only(app, client, session, make, org, claims):
    author = make.user(org, "staff", name="Quiet Quinn")
    make.login(client, author)
    send_flag(client, claims, text="Hidden author", anonymous="y")
    assert session.query(t.Flag).filter_by(text="Hidden author").one().anonymous
    for role in ("staff", "owner", "reviewer"):
        viewer = app.test_client()
        make.login(viewer, make.user(org, role))
        body = text_of(viewer.get(step_page(claims)))
        assert "Hidden author" in body and "Quiet Quinn" not in body
        assert "A colleague who stays anonymous" in body
    admin = app.test_client()
    make.login(admin, make.user(org, "admin"))
    body = text_of(admin.get(step_page(claims)))
    assert "Quiet Quinn" in body and "anonymous to others" in body


def test_named_flags_show_their_author(app, client, make, org, claims):
    make.login(client, make.user(org, "staff", name="Open Olga"))
    send_flag(client, claims, text="Named")
    viewer = app.test_client()
    make.login(viewer, make.user(org, "reviewer"))
    assert "Open Olga" in text_of(viewer.get(step_page(claims)))


# --- my flags -------------------------------------------------------------------------------


def test_my_flags_is_empty_at_first_and_explains_how_to_flag(client, staff):
    body = text_of(client.get("/my/flags"))
    assert "You have not flagged anything yet." in body
    assert 'href="/processes"' in body


def test_my_flags_lists_status_reason_and_proposal_including_anonymous_flags(
    client, session, make, org, claims, staff
):
    send_flag(client, claims, text="Anonymous one", anonymous="y")
    send_flag(client, claims, step="register", category="defects", text="Named one")
    named = session.query(t.Flag).filter_by(text="Named one").one()
    review = t.ProposalReview(
        org_id=org.id,
        process_id=claims.id,
        version_number=1,
        proposal_key="eliminate:register",
        title="Register claims automatically",
        rule="eliminate",
    )
    session.add(review)
    session.flush()
    named.review_id = review.id
    named.status = FlagStatus.WONT_FIX.value
    named.status_reason = "The regulator requires it."
    session.commit()
    body = text_of(client.get("/my/flags"))
    assert "Anonymous one" in body and '<span class="tag anon">anonymous</span>' in body
    assert "Re-key claim form into the claims system" in body
    assert "Won&#39;t fix" in body and "The regulator requires it." in body
    assert "Register claims automatically" in body
    assert "Mistakes and rework" in body and "Claims handling" in body


def test_my_flags_are_paginated(client, session, org, claims, staff):
    for n in range(signals.PER_PAGE + 3):
        session.add(
            t.Flag(
                org_id=org.id,
                process_id=claims.id,
                step_id="rekey",
                step_name=f"Step number {n:02d}",
                source="staff",
                category="waiting",
                severity=2,
                author_id=staff.id,
            )
        )
    session.commit()
    first = text_of(client.get("/my/flags"))
    assert "Page 1 of 2" in first and 'href="/my/flags?page=2"' in first
    second = text_of(client.get("/my/flags?page=2"))
    assert second.count('<a href="/my/flags/') == 3
    assert 'href="/my/flags?page=1"' in second


def test_someone_elses_flag_page_is_not_found(app, client, session, make, org, claims, staff):
    imported = session.query(t.Flag).filter_by(process_id=claims.id).first()
    assert client.get(f"/my/flags/{imported.id}").status_code == 404
    assert client.get(f"/my/flags/{imported.id}/withdraw").status_code == 404
    assert client.post(f"/my/flags/{imported.id}/withdraw").status_code == 404


def test_a_new_flag_is_withdrawn_after_confirmation(client, session, claims, staff):
    send_flag(client, claims, text="Oops")
    flag = session.query(t.Flag).filter_by(text="Oops").one()
    confirm = client.get(f"/my/flags/{flag.id}/withdraw")
    assert confirm.status_code == 200 and "Withdraw your flag?" in text_of(confirm)
    assert session.query(t.Flag).filter_by(text="Oops").count() == 1
    done = client.post(f"/my/flags/{flag.id}/withdraw")
    assert done.status_code == 302 and done.headers["Location"] == "/my/flags"
    session.expire_all()
    assert session.query(t.Flag).filter_by(text="Oops").count() == 0


def test_a_flag_under_review_cannot_be_withdrawn(client, session, claims, staff):
    send_flag(client, claims, text="Looked at")
    flag = session.query(t.Flag).filter_by(text="Looked at").one()
    flag.status = FlagStatus.UNDER_REVIEW.value
    session.commit()
    assert "Withdraw this flag" not in text_of(client.get(f"/my/flags/{flag.id}"))
    refused = client.post(f"/my/flags/{flag.id}/withdraw", follow_redirects=True)
    assert "already picked this flag up" in text_of(refused)
    assert session.query(t.Flag).filter_by(text="Looked at").count() == 1


def test_a_step_removed_in_a_later_version_keeps_its_flags(app, client, session, claims, staff):
    send_flag(client, claims, step="rekey", text="Keep me")
    parsed = repo.parse_document(repo.current_version(session, claims).document).process
    graph = parsed.graph.copy()
    before, after = next(iter(graph.predecessors("rekey"))), next(iter(graph.successors("rekey")))
    graph.remove_node("rekey")
    graph.add_edge(before, after, flow=parsed.flow(before, "rekey"))
    processes.save_version(
        session,
        claims,
        parsed.with_graph(graph),
        author_id=None,
        summary="No more re-keying",
        base_version=claims.current_version,
        renderer=rendering.renderer(app),
        step_url=rendering.step_url,
    )
    session.commit()
    assert client.get(step_page(claims, "rekey")).status_code == 404
    body = text_of(client.get("/my/flags"))
    assert "Re-key claim form into the claims system" in body
    assert "no longer in the process" in body


def test_forms_on_the_step_page_carry_a_csrf_token_and_are_refused_without_one(
    database_url, tmp_path, make, org, claims
):
    guarded = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "x",
            "RENDER_CACHE_DIR": str(tmp_path),
            "RATELIMIT_ENABLED": False,
        }
    )
    browser = guarded.test_client()
    user = make.user(org, "staff")
    page = browser.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text_of(page))
    assert token, "the login form carries a token"
    browser.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    body = text_of(browser.get(step_page(claims)))
    assert body.count('name="csrf_token"') >= 2
    assert send_flag(browser, claims).status_code == 400
    guarded_engine = database.engine(guarded)
    guarded_engine.dispose()
