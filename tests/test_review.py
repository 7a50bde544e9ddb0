"""The improvement team's review: dashboard, flags triage, decisions, applying and the loop back
to the people who flagged."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from web import rendering
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.model import Process, Step
from workflow.services import review_analysis, review_pages, reviews
from workflow.services.analysis_cache import AnalysisCache
from workflow.services.errors import Forbidden
from workflow.services.processes import save_version
from workflow.vocabulary import StepKind

STATUS_UPDATES = "file_claim.proactive_status.status_q"
COMBINE_FORM = "file_claim.combine_adjacent.claim_form"
COMBINE_REPORT = "file_claim.combine_adjacent.report"


@pytest.fixture
def claim(claim_org):
    return claim_org


def customer_flag(session, claim, *, consent=True, email="pat@example.com", step="chase"):
    flag = t.Flag(
        org_id=claim.org.id,
        process_id=claim.journey.id,
        step_id=step,
        step_name="Call to chase status",
        source="customer",
        category="chasing_status",
        severity=4,
        text="Nobody told me anything for three weeks.",
        contact_email=email,
        contact_consent=consent,
    )
    session.add(flag)
    session.commit()
    return flag


def staff_flag(session, claim, process, step="rekey", author=None):
    flag = t.Flag(
        org_id=claim.org.id,
        process_id=process.id,
        step_id=step,
        step_name=step,
        source="staff",
        category="extra_processing",
        severity=3,
        text="I type the same thing twice.",
        author_id=author.id if author else None,
    )
    session.add(flag)
    session.commit()
    return flag


def fresh(session, row):
    session.expire_all()
    return session.get(type(row), row.id)


def outbox_rows(session):
    session.expire_all()
    return list(session.scalars(select(t.OutboxMessage).order_by(t.OutboxMessage.id)))


def decide(client, claim, key, decision, reason="", version=1):
    return client.post(
        f"/review/{claim.journey.id}/proposals/{key}/decision",
        data={"decision": decision, "reason": reason, "version": version},
    )


def link(client, claim, flag, key, version=1, process=None):
    return client.post(
        f"/review/{(process or claim.journey).id}/flags/{flag.id}/link",
        data={"proposal": key, "version": version},
    )


# --- access -------------------------------------------------------------------------------


ROUTES = [
    ("get", "/review"),
    ("get", "/review/{journey}"),
    ("get", "/review/{journey}/proposals/" + STATUS_UPDATES),
    ("get", "/review/{journey}/apply"),
    ("get", "/review/outbox"),
    ("post", "/review/{journey}/flags/{flag}/status"),
    ("post", "/review/{journey}/flags/{flag}/link"),
    ("post", "/review/{journey}/proposals/" + STATUS_UPDATES + "/comments"),
    ("post", "/review/{journey}/proposals/" + STATUS_UPDATES + "/decision"),
    ("post", "/review/{journey}/apply"),
    ("post", "/review/outbox/send"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_staff_may_open_no_review_page(client, make, session, claim, method, path):
    flag = customer_flag(session, claim)
    make.login(client, claim.staff)
    url = path.format(journey=claim.journey.id, flag=flag.id)
    assert getattr(client, method)(url).status_code == 403


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_visitors_are_sent_to_log_in(client, session, claim, method, path):
    flag = customer_flag(session, claim)
    response = getattr(client, method)(path.format(journey=claim.journey.id, flag=flag.id))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if "{journey}" in r[1]])
def test_another_organisations_process_is_not_found(client, make, session, claim, method, path):
    flag = customer_flag(session, claim)
    outsider = make.user(make.org("Other"), "admin")
    make.login(client, outsider)
    url = path.format(journey=claim.journey.id, flag=flag.id)
    assert getattr(client, method)(url, data={"version": 1}).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [r for r in ROUTES if r[0] == "post" and "comments" not in r[1]]
    + [("get", "/review/{journey}/apply"), ("get", "/review/outbox")],
)
def test_owners_read_and_comment_but_do_not_decide(client, make, session, claim, method, path):
    flag = customer_flag(session, claim)
    make.login(client, claim.owner)
    url = path.format(journey=claim.journey.id, flag=flag.id)
    assert getattr(client, method)(url).status_code == 403


def test_owners_read_the_dashboard_without_triage_forms(client, make, claim, session):
    customer_flag(session, claim)
    make.login(client, claim.owner)
    page = client.get(f"/review/{claim.journey.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Nobody told me anything" in body
    assert "Save status" not in body and "Record decision" not in body


def test_a_flag_of_another_process_cannot_be_triaged_through_this_dashboard(
    client, make, session, claim
):
    unrelated = staff_flag(session, claim, claim.claims, step="print_signoff")
    make.login(client, claim.reviewer)
    response = client.post(
        f"/review/{claim.journey.id}/flags/{unrelated.id}/status",
        data={"status": "wont_fix", "reason": "no"},
    )
    assert response.status_code == 404
    assert fresh(session, unrelated).status == "new"


def test_forms_without_a_csrf_token_are_refused(app, make, session, claim):
    app.config["WTF_CSRF_ENABLED"] = True
    flag = customer_flag(session, claim)
    browser = app.test_client()
    browser.get("/login")
    with browser.session_transaction() as cookie:
        cookie["uid"], cookie["sv"] = claim.reviewer.id, claim.reviewer.session_version
    response = browser.post(
        f"/review/{claim.journey.id}/flags/{flag.id}/status",
        data={"status": "wont_fix", "reason": "no"},
    )
    assert response.status_code == 400
    assert fresh(session, flag).status == "new"


# --- index and dashboard ------------------------------------------------------------------


def test_the_index_lists_processes_with_open_flag_counts_most_flagged_first(
    client, make, claim, session
):
    make.login(client, claim.reviewer)
    body = client.get("/review").get_data(as_text=True)
    assert body.index("Claims handling") < body.index("File a motor insurance claim")
    assert "(4 staff · 0 customers)" in body
    assert "most flagged" in body


def test_the_index_shows_the_top_priority_step_once_a_dashboard_was_analysed(client, make, claim):
    make.login(client, claim.reviewer)
    client.get(f"/review/{claim.journey.id}")
    body = client.get("/review").get_data(as_text=True)
    assert "Call to chase status" in body and "top priority" in body
    assert "proposed" in body


def test_the_index_says_when_there_is_nothing_to_review(client, make):
    reviewer = make.user(make.org(), "reviewer")
    make.login(client, reviewer)
    assert "has no processes yet" in client.get("/review").get_data(as_text=True)


def test_the_dashboard_shows_figures_heatmap_hotspots_and_proposals(client, make, claim):
    make.login(client, claim.reviewer)
    page = client.get(f"/review/{claim.journey.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Lead time" in body and "Process cycle efficiency" in body
    assert '<figure class="diagram" aria-label="Pain heatmap' in body and "<svg" in body
    assert "Hotspots" in body and "staff and customers agree" in body
    assert "Send status updates instead of waiting" in body
    assert f"/review/{claim.journey.id}/proposals/{STATUS_UPDATES}" in body
    assert "Staff hours saved a year" in body and "Evidence" in body and "Risks" in body


def test_hotspot_reasons_come_from_the_score_parts(client, make, claim):
    make.login(client, claim.reviewer)
    body = client.get(f"/review/{claim.claims.id}").get_data(as_text=True)
    assert "open staff flag" in body
    assert "min per case" in body


def test_a_version_with_shape_problems_is_explained_instead_of_analysed(
    client, make, session, claim
):
    broken = Process.build(
        "file_claim",
        [
            Step("start", "Start", StepKind.START),
            Step("lost", "Step nobody reaches"),
            Step("end", "Done", StepKind.END),
        ],
        [("start", "end")],
        name="File a motor insurance claim",
    )
    row = fresh(session, claim.journey)
    save_version(session, row, broken, author_id=None, summary="Half done", base_version=1)
    session.commit()
    make.login(client, claim.reviewer)
    page = client.get(f"/review/{claim.journey.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "cannot be measured yet" in body
    assert "Pain heatmap" not in body


def test_the_analysis_is_reused_until_something_changes(client, make, session, claim, monkeypatch):
    calls = []
    original = review_analysis.analyze
    monkeypatch.setattr(
        review_analysis, "analyze", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    make.login(client, claim.reviewer)
    client.get(f"/review/{claim.journey.id}")
    client.get(f"/review/{claim.claims.id}")
    client.get(f"/review/{claim.journey.id}")
    assert len(calls) == 1
    flag = customer_flag(session, claim)
    client.post(
        f"/review/{claim.journey.id}/flags/{flag.id}/status",
        data={"status": "wont_fix", "reason": "Out of our hands."},
    )
    client.get(f"/review/{claim.journey.id}")
    assert len(calls) == 2


def test_the_flag_list_is_filtered_and_paginated(client, make, session, claim):
    for _ in range(review_pages.FLAG_PAGE_SIZE + 2):
        customer_flag(session, claim, consent=False)
    make.login(client, claim.reviewer)
    first = client.get(f"/review/{claim.journey.id}").get_data(as_text=True)
    assert "Page 1 of 2" in first
    second = client.get(f"/review/{claim.journey.id}?flags=open&page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second
    closed = client.get(f"/review/{claim.journey.id}?flags=closed").get_data(as_text=True)
    assert "No flags have been addressed or closed yet." not in closed  # one came addressed


def test_flags_on_linked_journey_steps_show_on_the_employee_dashboard(client, make, session, claim):
    customer_flag(session, claim)
    make.login(client, claim.reviewer)
    body = client.get(f"/review/{claim.claims.id}").get_data(as_text=True)
    assert "Nobody told me anything" in body
    assert "on File a motor insurance claim (linked step)" in body


def test_anonymous_staff_stay_anonymous_to_reviewers_but_not_to_admins(
    client, make, session, claim
):
    flag = staff_flag(session, claim, claim.claims, author=claim.staff)
    flag.anonymous = True
    session.commit()
    make.login(client, claim.reviewer)
    assert claim.staff.name not in client.get(f"/review/{claim.claims.id}").get_data(as_text=True)
    make.login(client, claim.admin)
    body = client.get(f"/review/{claim.claims.id}").get_data(as_text=True)
    assert f"{claim.staff.name} (anonymous to others)" in body


# --- triage -------------------------------------------------------------------------------


def test_addressing_a_flag_needs_a_reason(client, make, session, claim):
    flag = customer_flag(session, claim)
    make.login(client, claim.reviewer)
    response = client.post(
        f"/review/{claim.journey.id}/flags/{flag.id}/status",
        data={"status": "addressed", "reason": "  "},
    )
    assert response.status_code == 422
    assert "Say why the flag is addressed" in response.get_data(as_text=True)
    assert fresh(session, flag).status == "new"
    assert outbox_rows(session) == []


def test_triage_moves_the_flag_bumps_the_revision_and_queues_one_reply(
    client, make, session, claim
):
    flag = customer_flag(session, claim)
    before = fresh(session, claim.journey).signals_revision
    make.login(client, claim.reviewer)
    url = f"/review/{claim.journey.id}/flags/{flag.id}/status"
    response = client.post(url, data={"status": "addressed", "reason": "We now text you."})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#flag-{flag.id}")
    flag = fresh(session, flag)
    assert (flag.status, flag.status_reason) == ("addressed", "We now text you.")
    assert fresh(session, claim.journey).signals_revision == before + 1
    client.post(url, data={"status": "addressed", "reason": "We now text you at each step."})
    messages = outbox_rows(session)
    assert len(messages) == 1
    message = messages[0]
    assert message.to_email == "pat@example.com" and message.flag_id == flag.id
    assert "Nobody told me anything" in message.body
    assert "was hard (having to chase for news)" in message.body  # the customer's own words
    assert "We now text you." in message.body
    assert f"/j/{claim.journey.public_token}/changes" in message.body


def test_wont_fix_also_tells_the_customer(client, make, session, claim):
    flag = customer_flag(session, claim)
    make.login(client, claim.reviewer)
    client.post(
        f"/review/{claim.journey.id}/flags/{flag.id}/status",
        data={"status": "wont_fix", "reason": "The law requires this call."},
    )
    (message,) = outbox_rows(session)
    assert "decided not to change this step" in message.body


@pytest.mark.parametrize(("consent", "email"), [(False, "pat@example.com"), (True, None)])
def test_no_reply_is_queued_without_consent_and_address(
    client, make, session, claim, consent, email
):
    flag = customer_flag(session, claim, consent=consent, email=email)
    make.login(client, claim.reviewer)
    client.post(
        f"/review/{claim.journey.id}/flags/{flag.id}/status",
        data={"status": "addressed", "reason": "Fixed."},
    )
    assert fresh(session, flag).status == "addressed"
    assert outbox_rows(session) == []


def test_under_review_needs_no_reason_and_sends_nothing(client, make, session, claim):
    flag = customer_flag(session, claim)
    make.login(client, claim.reviewer)
    client.post(
        f"/review/{claim.journey.id}/flags/{flag.id}/status", data={"status": "under_review"}
    )
    assert fresh(session, flag).status == "under_review"
    assert outbox_rows(session) == []


def test_an_unknown_status_is_refused(client, make, session, claim):
    flag = customer_flag(session, claim)
    make.login(client, claim.reviewer)
    response = client.post(
        f"/review/{claim.journey.id}/flags/{flag.id}/status", data={"status": "deleted"}
    )
    assert response.status_code == 422
    assert fresh(session, flag).status == "new"


# --- linking, decisions and their effect on flags ----------------------------------------


def test_a_flag_is_linked_to_a_proposal_and_unlinked(client, make, session, claim):
    flag = customer_flag(session, claim)
    make.login(client, claim.reviewer)
    assert link(client, claim, flag, STATUS_UPDATES).status_code == 302
    review = session.scalar(select(t.ProposalReview))
    assert (review.proposal_key, review.version_number, review.status) == (
        STATUS_UPDATES,
        1,
        "open",
    )
    assert fresh(session, flag).review_id == review.id
    body = client.get(f"/review/{claim.journey.id}").get_data(as_text=True)
    assert "Linked to:" in body
    link(client, claim, flag, "")
    assert fresh(session, flag).review_id is None


def test_linking_to_an_unknown_proposal_names_the_field(client, make, session, claim):
    flag = customer_flag(session, claim)
    make.login(client, claim.reviewer)
    response = link(client, claim, flag, "file_claim.no_such_rule.x")
    assert response.status_code == 422
    assert "not proposed for this version" in response.get_data(as_text=True)


def test_accepting_puts_linked_new_flags_under_review_and_rejecting_puts_them_back(
    client, make, session, claim
):
    flag = customer_flag(session, claim)
    make.login(client, claim.reviewer)
    link(client, claim, flag, STATUS_UPDATES)
    assert decide(client, claim, STATUS_UPDATES, "accept").status_code == 302
    moved = fresh(session, flag)
    assert moved.status == "under_review"
    assert "accepted a change for this" in moved.status_reason
    review = session.scalar(select(t.ProposalReview))
    assert review.status == "accepted" and review.decided_by_id == claim.reviewer.id
    assert decide(client, claim, STATUS_UPDATES, "reject", "Too costly.").status_code == 302
    back = fresh(session, flag)
    assert (back.status, back.status_reason) == ("new", "")
    assert back.status_before_review is None
    assert fresh(session, review).reason == "Too costly."
    assert outbox_rows(session) == []


def test_accepting_remembers_the_status_each_linked_flag_came_from(client, make, session, claim):
    flag = customer_flag(session, claim)
    make.login(client, claim.reviewer)
    link(client, claim, flag, STATUS_UPDATES)
    assert fresh(session, flag).status_before_review is None
    decide(client, claim, STATUS_UPDATES, "accept")
    assert fresh(session, flag).status_before_review == "new"
    decide(client, claim, STATUS_UPDATES, "reopen")
    back = fresh(session, flag)
    assert (back.status, back.status_before_review) == ("new", None)


def test_a_flag_triaged_by_hand_keeps_its_status_when_the_proposal_is_rejected(
    client, make, session, claim
):
    flag = customer_flag(session, claim, consent=False)
    make.login(client, claim.reviewer)
    link(client, claim, flag, STATUS_UPDATES)
    decide(client, claim, STATUS_UPDATES, "accept")
    client.post(
        f"/review/{claim.journey.id}/flags/{flag.id}/status",
        data={"status": "under_review", "reason": "Checking with the call centre."},
    )
    decide(client, claim, STATUS_UPDATES, "reject", "Not now.")
    assert fresh(session, flag).status_reason == "Checking with the call centre."


@pytest.mark.parametrize("reason", ["", "accepted"], ids=["no reason", "the acceptance's reason"])
def test_a_flag_triaged_by_hand_after_acceptance_stays_whatever_its_reason_text(
    client, make, session, claim, reason
):
    flag = customer_flag(session, claim, consent=False)
    make.login(client, claim.reviewer)
    link(client, claim, flag, STATUS_UPDATES)
    decide(client, claim, STATUS_UPDATES, "accept")
    accepted_reason = fresh(session, flag).status_reason
    typed = accepted_reason if reason == "accepted" else ""
    response = client.post(
        f"/review/{claim.journey.id}/flags/{flag.id}/status",
        data={"status": "under_review", "reason": typed},
    )
    assert response.status_code == 302
    assert fresh(session, flag).status_before_review is None
    decide(client, claim, STATUS_UPDATES, "reject", "Not now.")
    kept = fresh(session, flag)
    assert (kept.status, kept.status_reason) == ("under_review", typed)


def test_rejecting_puts_a_flag_back_to_the_status_it_had_before_acceptance(
    client, make, session, claim
):
    flag = customer_flag(session, claim, consent=False)
    make.login(client, claim.reviewer)
    link(client, claim, flag, STATUS_UPDATES)
    decide(client, claim, STATUS_UPDATES, "accept")
    flag = fresh(session, flag)
    flag.status_reason = "Reworded by hand in the database, not through triage."
    session.commit()
    decide(client, claim, STATUS_UPDATES, "reject", "Not now.")
    back = fresh(session, flag)
    assert (back.status, back.status_reason, back.status_before_review) == ("new", "", None)


def test_applying_forgets_the_status_before_review(client, make, session, claim):
    flag = customer_flag(session, claim, consent=False)
    make.login(client, claim.reviewer)
    link(client, claim, flag, STATUS_UPDATES)
    decide(client, claim, STATUS_UPDATES, "accept")
    response = client.post(f"/review/{claim.journey.id}/apply", data={"version": 1})
    assert response.status_code == 302
    done = fresh(session, flag)
    assert (done.status, done.status_before_review) == ("addressed", None)


def test_linking_a_flag_to_an_accepted_proposal_puts_it_under_review(client, make, session, claim):
    flag = customer_flag(session, claim)
    make.login(client, claim.reviewer)
    decide(client, claim, STATUS_UPDATES, "accept")
    link(client, claim, flag, STATUS_UPDATES)
    linked = fresh(session, flag)
    assert (linked.status, linked.status_before_review) == ("under_review", "new")
    link(client, claim, flag, "")
    unlinked = fresh(session, flag)
    assert (unlinked.status, unlinked.status_before_review) == ("new", None)


def test_rejecting_needs_a_reason(client, make, claim):
    make.login(client, claim.reviewer)
    response = decide(client, claim, STATUS_UPDATES, "reject", " ")
    assert response.status_code == 422
    assert "Say why the proposal is rejected." in response.get_data(as_text=True)


def test_reopening_makes_a_decision_undecided_again(client, make, session, claim):
    make.login(client, claim.reviewer)
    decide(client, claim, STATUS_UPDATES, "accept")
    decide(client, claim, STATUS_UPDATES, "reopen")
    review = session.scalar(select(t.ProposalReview))
    assert review.status == "open" and review.decided_by_id is None


def test_deciding_twice_the_same_way_is_explained(client, make, claim):
    make.login(client, claim.reviewer)
    decide(client, claim, STATUS_UPDATES, "accept")
    response = decide(client, claim, STATUS_UPDATES, "accept")
    assert response.status_code == 422
    assert "already accepted" in response.get_data(as_text=True)


def test_owners_comment_and_comments_are_listed_with_their_author(client, make, session, claim):
    make.login(client, claim.owner)
    url = f"/review/{claim.journey.id}/proposals/{STATUS_UPDATES}"
    response = client.post(url + "/comments", data={"text": "SMS costs money.", "version": 1})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "SMS costs money." in page and claim.owner.name in page
    review = session.scalar(select(t.ProposalReview))
    assert review.status == "open"


def test_an_empty_comment_is_refused(client, make, claim):
    make.login(client, claim.reviewer)
    url = f"/review/{claim.journey.id}/proposals/{STATUS_UPDATES}/comments"
    response = client.post(url, data={"text": "  ", "version": 1})
    assert response.status_code == 422
    assert "Write a comment first." in response.get_data(as_text=True)


def test_the_proposal_page_shows_diagrams_and_metric_deltas(client, make, claim):
    make.login(client, claim.reviewer)
    page = client.get(f"/review/{claim.journey.id}/proposals/{STATUS_UPDATES}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert body.count("<svg") == 2
    assert "Lead time per case" in body and "(better)" in body
    assert "Record decision" in body


def test_an_unknown_proposal_is_not_found(client, make, claim):
    make.login(client, claim.reviewer)
    assert client.get(f"/review/{claim.journey.id}/proposals/nope").status_code == 404


# --- applying -----------------------------------------------------------------------------


def test_applying_creates_a_new_version_and_addresses_linked_flags(client, make, session, claim):
    flag = customer_flag(session, claim)
    staff = staff_flag(session, claim, claim.journey, step="claim_form")
    make.login(client, claim.reviewer)
    link(client, claim, flag, STATUS_UPDATES)
    link(client, claim, staff, COMBINE_FORM)
    decide(client, claim, STATUS_UPDATES, "accept")
    decide(client, claim, COMBINE_FORM, "accept")
    confirm = client.get(f"/review/{claim.journey.id}/apply?version=1").get_data(as_text=True)
    assert "Apply into version 2" in confirm and "1 customer who asked to hear back" in confirm
    response = client.post(f"/review/{claim.journey.id}/apply", data={"version": 1})
    assert response.status_code == 302
    journey = fresh(session, claim.journey)
    assert journey.current_version == 2
    saved = repo.current_version(session, journey)
    assert saved.author_id == claim.reviewer.id and "Applied 2 accepted proposals" in saved.summary
    assert saved.map_svg and "<svg" in saved.map_svg
    process = repo.parse_document(saved.document).process
    assert "inspection" not in process and "notify_chase" in process
    addressed = fresh(session, flag)
    assert addressed.status == "addressed"
    assert addressed.status_reason.startswith("Changed in version 2: Send status updates")
    assert fresh(session, staff).status == "addressed"
    decisions = session.scalars(select(t.ProposalReview)).all()
    assert {(r.status, r.applied_version) for r in decisions} == {("applied", 2)}
    (message,) = outbox_rows(session)
    assert "Changed in version 2" in message.body


def test_links_and_flags_of_a_merged_step_follow_it(client, make, session, claim):
    on_inspection = staff_flag(session, claim, claim.journey, step="inspection")
    make.login(client, claim.reviewer)
    decide(client, claim, COMBINE_FORM, "accept")
    client.post(f"/review/{claim.journey.id}/apply", data={"version": 1})
    assert fresh(session, on_inspection).step_id == "claim_form"
    links = session.execute(
        select(t.StepLink.journey_step, t.StepLink.step).where(
            t.StepLink.journey_id == claim.journey.id
        )
    ).all()
    assert ("claim_form", "inspect") in links
    assert all(journey_step != "inspection" for journey_step, _ in links)


def test_applying_decisions_of_an_older_version_is_refused(client, make, session, claim):
    flag = customer_flag(session, claim)
    make.login(client, claim.reviewer)
    link(client, claim, flag, STATUS_UPDATES)
    decide(client, claim, STATUS_UPDATES, "accept")
    row = fresh(session, claim.journey)
    process = repo.parse_document(repo.current_version(session, row).document).process
    save_version(session, row, process, author_id=None, summary="Owner edit", base_version=1)
    session.commit()
    response = client.post(f"/review/{claim.journey.id}/apply", data={"version": 1})
    assert response.status_code == 409
    assert "now at version 2" in response.get_data(as_text=True)
    assert fresh(session, claim.journey).current_version == 2
    assert fresh(session, flag).status == "under_review"
    stale = decide(client, claim, STATUS_UPDATES, "reject", "x", version=1)
    assert stale.status_code == 409


def test_accepted_proposals_that_change_the_same_step_are_not_applied_together(
    client, make, session, claim
):
    make.login(client, claim.reviewer)
    decide(client, claim, COMBINE_FORM, "accept")
    decide(client, claim, COMBINE_REPORT, "accept")
    response = client.post(f"/review/{claim.journey.id}/apply", data={"version": 1})
    assert response.status_code == 422
    assert "cannot be applied together" in response.get_data(as_text=True)
    assert fresh(session, claim.journey).current_version == 1


def test_applying_with_nothing_accepted_is_explained(client, make, claim):
    make.login(client, claim.reviewer)
    page = client.get(f"/review/{claim.journey.id}/apply").get_data(as_text=True)
    assert "No proposal of version 1 is accepted yet" in page
    response = client.post(f"/review/{claim.journey.id}/apply", data={"version": 1})
    assert response.status_code == 422


def test_an_applied_proposal_keeps_its_record_on_the_old_version(client, make, session, claim):
    make.login(client, claim.reviewer)
    client.post(
        f"/review/{claim.journey.id}/proposals/{STATUS_UPDATES}/comments",
        data={"text": "Go for it.", "version": 1},
    )
    decide(client, claim, STATUS_UPDATES, "accept")
    client.post(f"/review/{claim.journey.id}/apply", data={"version": 1})
    page = client.get(f"/review/{claim.journey.id}/proposals/{STATUS_UPDATES}?version=1")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Go for it." in body and "in version 2" in body
    assert "Record decision" not in body
    dashboard = client.get(f"/review/{claim.journey.id}").get_data(as_text=True)
    assert "Decisions on earlier versions" in dashboard


def test_the_service_refuses_decisions_from_roles_that_only_read(session, claim, app):
    cache = AnalysisCache()
    with pytest.raises(Forbidden):
        reviews.decide(
            session,
            claim.owner,
            claim.org,
            claim.journey,
            STATUS_UPDATES,
            "accept",
            "",
            cache,
            version_number=1,
        )


def test_applying_through_the_service_renders_the_new_map(session, claim, app):
    cache = AnalysisCache()
    reviews.decide(
        session,
        claim.reviewer,
        claim.org,
        claim.journey,
        STATUS_UPDATES,
        "accept",
        "",
        cache,
        version_number=1,
    )
    result = reviews.apply_accepted(
        session,
        claim.reviewer,
        claim.org,
        claim.journey,
        cache,
        version_number=1,
        renderer=rendering.renderer(app),
        step_url=rendering.step_url,
    )
    session.commit()
    assert result.version.number == 2 and result.flags_addressed == 0
    assert f"/processes/{claim.journey.id}/steps/" in result.version.map_svg
    assert session.scalar(select(func.count(t.ProcessVersion.id))) >= 3


def test_owners_see_the_comment_form_but_not_the_decision_form(client, make, claim):
    make.login(client, claim.owner)
    body = client.get(f"/review/{claim.journey.id}/proposals/{STATUS_UPDATES}").get_data(
        as_text=True
    )
    assert "Post comment" in body and "Record decision" not in body


def test_the_analysis_cache_keeps_the_most_recently_used_entries():
    cache = AnalysisCache(size=2)
    cache.get("a", lambda: 1)
    cache.get("b", lambda: 2)
    assert cache.peek("a") == 1
    cache.get("c", lambda: 3)
    assert cache.peek("b") is None and cache.peek("a") == 1 and len(cache) == 2
    assert cache.get("a", lambda: pytest.fail("computed again")) == 1


def test_a_change_too_small_to_show_reads_as_no_change(session, claim):
    cache = AnalysisCache()
    measured = review_analysis.org_analysis(session, claim.org, cache, simulation_runs=0)
    proposal = next(p for p in measured.proposals(claim.journey.id) if p.id == STATUS_UPDATES)
    rows = {row.label: row for row in review_pages.metric_rows(proposal.before, proposal.before)}
    assert {row.verdict for row in rows.values()} == {"same"}
    assert rows["Lead time per case"].change == "no change"
