"""Customer feedback on a journey: which steps customers see, what one submission stores, and
what the public "you said, we did" list lets out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from workflow import model as engine
from workflow.adapters import tables as t
from workflow.model import CES_SCALE
from workflow.services import feedback
from workflow.services.errors import InvalidInput
from workflow.services.feedback import PublicJourney, severity_for, submit_feedback
from workflow.services.processes import create_process
from workflow.vocabulary import FlagCategory, LaneKind, Layer, Perspective, StepKind

CLAIM_STEPS = [
    "Call the claims hotline",
    "Send us your claim form",
    "Damage inspection",
    "Wait for our decision",
    "Ask where my claim is",
    "Get the car repaired",
    "Pick up your car",
]


@pytest.fixture
def claim(make):
    org = make.org("Acme Insurance")
    rows = make.model(org, "insurance_claim.yaml")
    return rows["file_claim"], rows["claims"]


def _count(session, table) -> int:
    return session.scalar(select(func.count()).select_from(table))


def _decide(session, flag: t.Flag, status: str, reason: str = "", review=None) -> None:
    flag.status = status
    flag.status_reason = reason
    flag.review_id = review.id if review is not None else None
    flag.updated_at = t.utcnow()
    session.commit()


def test_customers_see_their_steps_in_journey_order_in_their_own_words(session, claim):
    journey = feedback.describe_journey(session, claim[0])
    assert [step.words for step in journey.steps] == CLAIM_STEPS
    assert journey.organisation == "Acme Insurance"


def test_steps_without_a_customer_name_are_shown_by_name_and_backstage_work_is_hidden():
    process = engine.Process.build(
        "j",
        steps=[
            engine.Step("s", "Start", StepKind.START, lane="me"),
            engine.Step("ask", "Ask a question", lane="me"),
            engine.Step("think", "Customer undecided?", StepKind.DECISION, lane="me"),
            engine.Step("desk", "Clerk greets", lane="clerk", layer=Layer.FRONTSTAGE),
            engine.Step("file", "Clerk files it", lane="clerk", layer=Layer.BACKSTAGE),
            engine.Step("named", "Internal", lane="clerk", customer_name="Get your receipt"),
            engine.Step("e", "End", StepKind.END, lane="me"),
        ],
        flows=[
            ("s", "ask"),
            ("ask", "think"),
            ("think", "desk", engine.Flow(0.5)),
            ("think", "e", engine.Flow(0.5)),
            ("desk", "file"),
            ("file", "named"),
            ("named", "e"),
        ],
        perspective=Perspective.CUSTOMER_JOURNEY,
        lanes=[engine.Lane("me", "Me", LaneKind.CUSTOMER), engine.Lane("clerk", "Clerk")],
    )
    assert [(s.id, s.words) for s in feedback.customer_steps(process)] == [
        ("ask", "Ask a question"),
        ("desk", "Clerk greets"),
        ("named", "Get your receipt"),
    ]


@pytest.mark.parametrize(
    ("organisation", "name", "statement"),
    [
        ("Acme", "Return an online order", "Acme made it easy for me to return an online order"),
        ("Acme", "IT access request", "Acme made it easy for me to IT access request"),
    ],
)
def test_the_effort_statement_lowercases_the_journey_name_but_not_an_acronym(
    organisation, name, statement
):
    journey = PublicJourney(row=None, organisation=organisation, name=name, steps=())
    assert journey.statement == statement


def test_a_report_on_a_step_stores_a_customer_flag_and_its_effort_score(session, claim):
    journey = claim[0]
    revision = journey.signals_revision
    receipt = submit_feedback(
        session, journey, "chase", "chasing_status", 2, "Nobody called back.", "", False
    )
    session.commit()
    flag = session.get(t.Flag, receipt.flag.id)
    assert (flag.process_id, flag.step_id, flag.step_name) == (
        journey.id,
        "chase",
        "Call to chase status",
    )
    assert (flag.source, flag.category, flag.severity, flag.status) == (
        "customer",
        "chasing_status",
        5,
        "new",
    )
    assert flag.author_id is None and flag.text == "Nobody called back."
    assert flag.contact_email is None and not flag.contact_consent
    answer = session.get(t.CesAnswer, receipt.answer.id)
    assert (answer.step_id, answer.score, answer.scale, answer.flag_id) == (
        "chase",
        2,
        CES_SCALE,
        flag.id,
    )
    session.refresh(journey)
    assert journey.signals_revision == revision + 1


@pytest.mark.parametrize(
    ("score", "category", "severity"),
    [
        (1, "waiting", 4),
        (2, "unclear", 4),
        (3, "pointless", 3),
        (4, "asked_twice", 3),
        (5, "waiting", 2),
        (7, "too_many_approvals", 2),
        (None, "unclear", 3),
        (1, "system_trouble", 5),
        (6, "chasing_status", 3),
        (None, "system_trouble", 4),
    ],
)
def test_severity_follows_the_effort_score_and_trouble_that_stops_or_burdens_customers(
    score, category, severity
):
    assert severity_for(score, FlagCategory(category)) == severity


def test_not_sure_with_a_story_goes_on_the_start_step_as_general_feedback(session, claim):
    receipt = submit_feedback(session, claim[0], None, "unclear", 3, "The letters confuse me.")
    session.commit()
    assert receipt.flag.step_id == "start"
    assert receipt.flag.step_name == feedback.GENERAL_STEP_NAME
    assert receipt.answer.step_id is None and receipt.answer.flag_id == receipt.flag.id


def test_an_effort_score_alone_stores_no_flag(session, claim):
    flags = _count(session, t.Flag)
    receipt = submit_feedback(session, claim[0], None, None, 6, "")
    session.commit()
    assert receipt.flag is None and receipt.answer.step_id is None
    assert _count(session, t.Flag) == flags


def test_the_email_address_is_kept_only_with_consent(session, claim):
    receipt = submit_feedback(
        session, claim[0], "report", "waiting", None, "", " Pat@Example.org ", True
    )
    assert receipt.flag.contact_email == "pat@example.org" and receipt.flag.contact_consent
    assert receipt.answer is None


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (("nowhere", "waiting", 3, ""), "step"),
        (("status_q", "waiting", 3, ""), "step"),
        (("report", "motion", 3, ""), "category"),
        (("report", "nonsense", 3, ""), "category"),
        (("report", None, 3, ""), "category"),
        ((None, None, 3, "It was slow."), "category"),
        (("report", "waiting", 0, ""), "score"),
        (("report", "waiting", 8, ""), "score"),
        ((None, None, None, ""), "score"),
        (("report", "waiting", 3, "x" * 2001), "text"),
    ],
)
def test_bad_answers_are_refused_naming_the_field(session, claim, arguments, field):
    with pytest.raises(InvalidInput) as refused:
        submit_feedback(session, claim[0], *arguments)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("email", "consent", "field"),
    [
        ("not-an-address", True, "email"),
        ("pat@example.org", False, "consent"),
        ("", True, "email"),
    ],
)
def test_contact_details_must_be_a_real_address_with_consent(session, claim, email, consent, field):
    with pytest.raises(InvalidInput) as refused:
        submit_feedback(session, claim[0], "report", "waiting", 3, "", email, consent)
    assert refused.value.field == field


def test_an_address_without_a_kind_of_trouble_is_refused_as_there_is_nothing_to_report_on(
    session, claim
):
    with pytest.raises(InvalidInput) as refused:
        submit_feedback(session, claim[0], None, None, 5, "", "pat@example.org", True)
    assert refused.value.field == "category"


def test_all_wrong_answers_are_reported_together_in_form_order(session, claim):
    with pytest.raises(feedback.InvalidFeedback) as refused:
        submit_feedback(session, claim[0], "nowhere", "motion", 9, "x" * 2001, "bad", True)
    assert list(refused.value.errors) == ["step", "category", "score", "text", "email"]
    assert refused.value.field == "step"


def test_a_refused_submission_stores_nothing(session, claim):
    before = (_count(session, t.Flag), _count(session, t.CesAnswer))
    with pytest.raises(InvalidInput):
        submit_feedback(session, claim[0], "report", "waiting", 9, "")
    session.rollback()
    assert (_count(session, t.Flag), _count(session, t.CesAnswer)) == before


def test_feedback_is_refused_on_an_employee_process(session, claim):
    with pytest.raises(InvalidInput):
        submit_feedback(session, claim[1], "fnol", "waiting", 3, "")


def test_only_journeys_are_found_by_their_public_token(session, claim):
    journey, employee = claim
    assert employee.public_token is None
    assert feedback.find_journey(session, journey.public_token).id == journey.id
    assert feedback.find_journey(session, "no-such-token") is None
    assert feedback.find_journey(session, "x" * 200) is None
    employee.public_token = "planted-token"
    session.commit()
    assert feedback.find_journey(session, "planted-token") is None


def test_a_journey_read_by_its_token_in_one_query_shows_what_describing_it_shows(session, claim):
    journey, employee = claim
    found = feedback.journey_at(session, journey.public_token)
    described = feedback.describe_journey(session, journey)
    assert found == described and found.row.id == journey.id
    assert [step.words for step in found.steps] == CLAIM_STEPS
    assert found.process is not None and "claim_form" in found.process
    for token in ("no-such-token", "x" * 200, "", None):
        assert feedback.journey_at(session, token) is None
    employee.public_token = "planted-token"
    session.commit()
    assert feedback.journey_at(session, "planted-token") is None


def test_a_journey_without_its_current_version_is_not_found_by_its_token(session, claim):
    journey = claim[0]
    journey.current_version += 1
    session.commit()
    assert feedback.journey_at(session, journey.public_token) is None


def test_changes_list_decided_flags_of_the_journey_and_of_the_steps_serving_it(session, claim):
    journey, employee = claim
    mine = submit_feedback(session, journey, "claim_form", "asked_twice", 2, "Same form twice.")
    other = submit_feedback(session, journey, "inspection", "waiting", 4, "")
    session.commit()
    review = t.ProposalReview(
        org_id=journey.org_id,
        process_id=employee.id,
        version_number=1,
        proposal_key="k1",
        title="Prefill the claim form from the hotline call",
        rule="combine",
        status="applied",
    )
    session.add(review)
    session.commit()
    _decide(session, mine.flag, "addressed", "The form now starts with what you told us.", review)
    _decide(session, other.flag, "under_review")
    staff_flag = session.scalar(
        select(t.Flag).where(t.Flag.process_id == employee.id, t.Flag.step_id == "rekey")
    )
    _decide(session, staff_flag, "wont_fix", "The regulator asks for a signed form.")

    found = feedback.published_changes(session, journey)
    groups = {group.words: group.changes for group in found.groups}
    assert found.total == 3  # two above plus the hotline flag addressed in the model file
    assert set(groups) == {"Send us your claim form", "Call the claims hotline"}
    changes = groups["Send us your claim form"]
    assert [c.status for c in changes] == ["wont_fix", "addressed"]
    assert changes[0].said == "More work than needed"
    assert changes[0].reason == "The regulator asks for a signed form."
    assert changes[0].change_title == ""
    assert changes[1].said == "Being asked for the same thing twice"
    assert changes[1].change_title == "Prefill the claim form from the hotline call"


def test_a_proposal_title_is_shown_only_once_the_team_has_accepted_it(session, claim):
    journey = claim[0]
    receipt = submit_feedback(session, journey, "repair", "waiting", 3, "")
    review = t.ProposalReview(
        org_id=journey.org_id,
        process_id=journey.id,
        version_number=1,
        proposal_key="k2",
        title="Idea still being discussed",
        rule="eliminate",
        status="open",
    )
    session.add(review)
    session.commit()
    _decide(session, receipt.flag, "addressed", "", review)
    change = feedback.published_changes(session, journey).groups[0].changes[0]
    assert change.change_title == ""
    review.status = "accepted"
    session.commit()
    change = feedback.published_changes(session, journey).groups[0].changes[0]
    assert change.change_title == "Idea still being discussed"


def test_general_feedback_is_listed_under_in_general(session, claim):
    receipt = submit_feedback(session, claim[0], None, "unclear", None, "Letters are confusing.")
    session.commit()
    _decide(session, receipt.flag, "addressed", "We rewrote our letters.")
    groups = feedback.published_changes(session, claim[0]).groups
    assert groups[0].words == "In general"
    assert groups[0].changes[0].reason == "We rewrote our letters."


def test_changes_of_another_journey_are_not_listed(session, make, claim):
    other_org = make.org("Other")
    other = make.model(other_org, "insurance_claim.yaml")["file_claim"]
    receipt = submit_feedback(session, other, "report", "waiting", 3, "")
    session.commit()
    _decide(session, receipt.flag, "addressed", "Elsewhere.")
    reasons = [
        c.reason for g in feedback.published_changes(session, claim[0]).groups for c in g.changes
    ]
    assert "Elsewhere." not in reasons


def test_changes_come_newest_first_in_pages(session, make):
    org = make.org()
    journey = create_process(
        session,
        org.id,
        None,
        key="visit",
        name="Visit us",
        perspective=Perspective.CUSTOMER_JOURNEY,
    )
    session.commit()
    assert feedback.published_changes(session, journey).total == 0
    for number in range(5):
        receipt = submit_feedback(session, journey, None, "waiting", None, f"Story {number}")
        session.commit()
        _decide(session, receipt.flag, "addressed", f"Reason {number}")
    first = feedback.published_changes(session, journey, page=1, per_page=2)
    last = feedback.published_changes(session, journey, page=3, per_page=2)
    assert (first.total, first.pages) == (5, 3)
    assert [c.reason for c in first.groups[0].changes] == ["Reason 4", "Reason 3"]
    assert [c.reason for c in last.groups[0].changes] == ["Reason 0"]
