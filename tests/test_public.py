"""Public pages for customers: the feedback form of a journey, the thank-you page, "you said,
we did", the QR code and the poster; spam defences and what must never show on them."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import segno
from sqlalchemy import func, select

from web import create_app, database
from workflow.adapters import tables as t
from workflow.services.feedback import submit_feedback

INTERNAL = [
    "Policyholder",  # the journey's lane
    "Claims handler",  # a lane behind it
    "Report the accident by phone",  # a step's internal name
    "Customer calls to ask for status?",  # a routing choice
    "hold music",  # a flag's text
    "Re-key claim form",  # an employee step
    "cost",
    "EUR",
    "4320",
    "3 d",  # a wait time as the staff pages write it
]


@pytest.fixture
def claim(make):
    org = make.org("Acme Insurance")
    rows = make.model(org, "insurance_claim.yaml")
    return rows["file_claim"], rows["claims"]


def _url(journey, suffix: str = "") -> str:
    return f"/j/{journey.public_token}{suffix}"


def _count(session, table) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(table))


def _answer(**extra) -> dict:
    data = {"step": "chase", "category": "chasing_status", "score": "2", "text": "No news."}
    data.update(extra)
    return data


def test_the_feedback_page_shows_customer_steps_and_questions_without_logging_in(client, claim):
    page = client.get(_url(claim[0]))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for words in ("Call the claims hotline", "Ask where my claim is", "Pick up your car"):
        assert words in body
    assert "Where did it get hard?" in body
    assert "Somewhere else / not sure" in body
    assert "I had to chase for news" in body and "Too many sign-offs" in body
    assert "The website or app did not work" in body
    assert "Acme Insurance made it easy for me to file a motor insurance claim" in body
    assert "1 – Strongly disagree" in body and "7 – Strongly agree" in body
    assert 'maxlength="2000"' in body


def test_nothing_internal_appears_on_the_public_pages(client, claim):
    for suffix in ("", "/changes", "/thanks", "/poster"):
        body = client.get(_url(claim[0], suffix)).get_data(as_text=True)
        for internal in INTERNAL:
            assert internal not in body, (suffix, internal)
        assert not re.search(r"\b\d+ min\b", body), suffix


def test_staff_opening_the_public_link_see_no_staff_navigation(client, make, claim):
    make.login(client, make.user(make.org("Staff Org"), "admin"))
    body = client.get(_url(claim[0])).get_data(as_text=True)
    for staff_only in ("Log out", "My flags", "Processes", "Users", 'aria-label="Main"'):
        assert staff_only not in body


def test_public_pages_carry_the_security_headers(client, claim):
    response = client.get(_url(claim[0]))
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_valid_report_is_stored_and_thanks_the_customer(client, session, claim):
    journey = claim[0]
    flags, answers = _count(session, t.Flag), _count(session, t.CesAnswer)
    response = client.post(
        _url(journey), data=_answer(email="pat@example.org", consent="y", website="")
    )
    assert response.status_code == 302
    assert response.headers["Location"] == _url(journey, "/thanks")
    assert (_count(session, t.Flag), _count(session, t.CesAnswer)) == (flags + 1, answers + 1)
    flag = session.scalar(select(t.Flag).order_by(t.Flag.id.desc()))
    assert (flag.step_id, flag.source, flag.category, flag.text) == (
        "chase",
        "customer",
        "chasing_status",
        "No news.",
    )
    assert (flag.contact_email, flag.contact_consent, flag.author_id) == (
        "pat@example.org",
        True,
        None,
    )
    answer = session.scalar(select(t.CesAnswer).order_by(t.CesAnswer.id.desc()))
    assert (answer.score, answer.step_id, answer.flag_id) == (2, "chase", flag.id)
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Thank you" in thanks
    assert "We will e-mail you when something changes" in thanks
    assert _url(journey, "/changes") in thanks


def test_a_report_without_an_address_does_not_promise_an_email(client, claim):
    client.post(_url(claim[0]), data=_answer())
    thanks = client.get(_url(claim[0], "/thanks")).get_data(as_text=True)
    assert "We will e-mail you" not in thanks


def test_not_sure_with_only_an_effort_score_is_stored_as_an_answer_alone(client, session, claim):
    flags, answers = _count(session, t.Flag), _count(session, t.CesAnswer)
    response = client.post(_url(claim[0]), data={"step": "not_sure", "score": "6"})
    assert response.status_code == 302
    assert (_count(session, t.Flag), _count(session, t.CesAnswer)) == (flags, answers + 1)


def test_a_filled_honeypot_pretends_success_and_stores_nothing(client, session, claim):
    journey = claim[0]
    before = (_count(session, t.Flag), _count(session, t.CesAnswer), journey.signals_revision)
    response = client.post(_url(journey), data=_answer(website="http://spam.example"))
    assert response.status_code == 302
    assert response.headers["Location"] == _url(journey, "/thanks")
    session.refresh(journey)
    after = (_count(session, t.Flag), _count(session, t.CesAnswer), journey.signals_revision)
    assert after == before


def test_the_honeypot_is_hidden_by_css_and_labelled_for_screen_readers(client, claim):
    body = client.get(_url(claim[0])).get_data(as_text=True)
    assert re.search(
        r'<div class="hp">\s*<label for="website">Leave this field empty</label>', body
    )
    assert 'tabindex="-1"' in body


@pytest.mark.parametrize(
    ("data", "label", "message"),
    [
        (_answer(email="not-an-address", consent="y"), "Your e-mail address (optional)", "like"),
        (_answer(score="9"), "How much do you agree?", "Choose a number from 1 to 7."),
        (_answer(step="status_q"), "Where did it get hard?", "Choose one of the steps listed"),
        (_answer(category="motion"), "What was the trouble?", "kinds of trouble listed"),
        (_answer(category=""), "What was the trouble?", "what kind of trouble"),
        (_answer(text="x" * 2001), "What happened?", "2,000 characters"),
        (_answer(email="pat@example.org"), "Yes, e-mail me", "Tick the box"),
        ({}, "How much do you agree?", "Tell us how easy it was"),
    ],
)
def test_a_wrong_answer_is_refused_naming_the_field(client, session, claim, data, label, message):
    flags = _count(session, t.Flag)
    response = client.post(_url(claim[0]), data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    summary = body[body.index('class="form-errors"') : body.index("</div>")]
    assert label in summary and message in summary
    assert _count(session, t.Flag) == flags


def test_every_wrong_answer_is_named_at_once(client, claim):
    response = client.post(_url(claim[0]), data={"step": "chase", "email": "bad", "consent": "y"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Please check these before sending" in body
    assert "Choose what kind of trouble you had at this step." in body
    assert "Enter an e-mail address like name@example.org." in body
    assert body.index('href="#category-group"') < body.index('href="#email-group"')


def test_a_refused_form_keeps_what_the_customer_typed(client, claim):
    body = client.post(_url(claim[0]), data=_answer(score="9", text="Keep me")).get_data(
        as_text=True
    )
    assert "Keep me</textarea>" in body
    assert re.search(r'checked[^>]*value="chase"|value="chase"[^>]*checked', body)


@pytest.mark.parametrize("suffix", ["", "/thanks", "/changes", "/qr.svg", "/qr.png", "/poster"])
def test_an_unknown_token_answers_a_friendly_404(client, suffix):
    response = client.get(f"/j/no-such-token{suffix}")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "We could not find this page" in body
    assert "public.css" in body and "Log in" not in body


def test_an_employee_process_has_no_public_link(client, session, claim):
    employee = claim[1]
    assert employee.public_token is None
    employee.public_token = "employee-token"
    session.commit()
    assert client.get("/j/employee-token").status_code == 404
    assert client.post("/j/employee-token", data=_answer(step="fnol")).status_code == 404


def test_the_qr_code_is_an_svg_of_the_absolute_feedback_link(client, claim):
    response = client.get(_url(claim[0], "/qr.svg"))
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "script" not in response.get_data(as_text=True)
    same_link = io.BytesIO()
    segno.make(f"http://localhost{_url(claim[0])}", error="m", micro=False).save(
        same_link, kind="svg", scale=8, border=4, title="QR code of the feedback page", nl=False
    )
    assert response.data == same_link.getvalue()


def test_the_qr_code_is_also_a_png(client, claim):
    response = client.get(_url(claim[0], "/qr.png"))
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_poster_shows_the_qr_code_the_journey_and_a_short_link(client, claim):
    body = client.get(_url(claim[0], "/poster")).get_data(as_text=True)
    assert f'src="{_url(claim[0], "/qr.svg")}"' in body
    assert "File a motor insurance claim" in body
    assert f"localhost{_url(claim[0])}" in body


def test_you_said_we_did_lists_addressed_flags_and_hides_contact_details(client, session, claim):
    journey = claim[0]
    receipt = submit_feedback(
        session,
        journey,
        "claim_form",
        "asked_twice",
        2,
        "My policy number is 12345, why ask again?",
        "pat@example.org",
        True,
    )
    receipt.flag.status = "addressed"
    receipt.flag.status_reason = "The form now starts with what you told us on the phone."
    session.commit()
    response = client.get(_url(journey, "/changes"))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "You said, we did" in body
    assert "Send us your claim form" in body
    assert "Being asked for the same thing twice" in body
    assert "The form now starts with what you told us on the phone." in body
    assert "We changed it" in body
    assert "pat@example.org" not in body and "12345" not in body


def test_you_said_we_did_says_so_when_nothing_changed_yet(client, session, make):
    org = make.org()
    rows = make.model(org, "online_order_return.yaml")
    journey = rows["return_order"]
    for flag in session.scalars(select(t.Flag).where(t.Flag.process_id == journey.id)):
        flag.status = "new"
    session.commit()
    body = client.get(_url(journey, "/changes")).get_data(as_text=True)
    assert "Nothing changed yet — thank you for your patience" in body


def test_you_said_we_did_pages_beyond_the_last_are_not_found(client, claim):
    assert client.get(_url(claim[0], "/changes?page=1")).status_code == 200
    assert client.get(_url(claim[0], "/changes?page=9")).status_code == 404


def test_an_oversized_form_is_refused_in_plain_words(client, claim):
    response = client.post(_url(claim[0]), data=_answer(text="x" * 40_000))
    assert response.status_code == 413
    assert "That was too much to send" in response.get_data(as_text=True)


@pytest.fixture
def limited_app(rate_limited):
    return rate_limited(FEEDBACK_RATE_LIMIT="2 per hour")


def test_too_many_reports_from_one_client_get_a_friendly_429(limited_app, session, claim):
    client = limited_app.test_client()
    journey = claim[0]
    accepted = [client.post(_url(journey), data=_answer()).status_code for _ in range(2)]
    flags = _count(session, t.Flag)
    refused = client.post(_url(journey), data=_answer())
    assert [*accepted, refused.status_code] == [302, 302, 429]
    assert int(refused.headers["Retry-After"]) > 0
    body = refused.get_data(as_text=True)
    assert "that is a lot of messages" in body and "public.css" in body
    assert f'href="{_url(journey)}"' in body
    assert _count(session, t.Flag) == flags
    assert client.get(_url(journey)).status_code == 200


def test_the_form_needs_its_csrf_token(database_url, tmp_path, session, claim):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "RATELIMIT_ENABLED": False,
            "RENDER_CACHE_DIR": str(tmp_path / "renders"),
        }
    )
    try:
        client = app.test_client()
        journey = claim[0]
        refused = client.post(_url(journey), data=_answer())
        assert refused.status_code == 400
        assert "could not send it" in refused.get_data(as_text=True)
        page = client.get(_url(journey)).get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        sent = client.post(_url(journey), data=_answer(csrf_token=token))
        assert sent.status_code == 302
    finally:
        database.engine(app).dispose()
