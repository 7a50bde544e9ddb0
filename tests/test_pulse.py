"""The staff pulse: one anonymous answer per person per month, eNPS shown only when it cannot
point to a person."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, select

from workflow.adapters import tables as t
from workflow.services import pulse
from workflow.services.errors import Forbidden, InvalidInput

NOVEMBER = dt.date(2026, 11, 20)
DECEMBER = dt.date(2026, 12, 3)


def answers(session, org):
    return list(session.scalars(select(t.PulseAnswer).where(t.PulseAnswer.org_id == org.id)))


def test_enps_is_promoters_minus_detractors_in_percent():
    month = pulse.Enps("2026-11", answers=10, promoters=5, passives=2, detractors=3)
    assert month.score == pytest.approx(20.0)
    assert month.promoter_pct == pytest.approx(50.0) and month.detractor_pct == pytest.approx(30.0)
    assert pulse.Enps("2026-11", 5, 0, 0, 5).score == pytest.approx(-100.0)


def test_enps_is_hidden_below_five_answers():
    month = pulse.Enps("2026-11", answers=4, promoters=4, passives=0, detractors=0)
    assert not month.shown
    assert month.score is None and month.promoter_pct is None


def test_a_person_answers_once_a_month(make, session):
    org = make.org()
    user = make.user(org, "staff")
    pulse.answer_pulse(session, user, 9, today=NOVEMBER)
    session.commit()
    with pytest.raises(InvalidInput) as refused:
        pulse.answer_pulse(session, user, 3, today=NOVEMBER.replace(day=30))
    assert refused.value.field == "score"
    assert "already answered" in str(refused.value)
    session.rollback()
    pulse.answer_pulse(session, user, 4, today=DECEMBER)
    session.commit()
    assert sorted(a.period for a in answers(session, org)) == ["2026-11", "2026-12"]
    participation = session.scalars(
        select(t.PulseParticipation.period).where(t.PulseParticipation.user_id == user.id)
    ).all()
    assert sorted(participation) == ["2026-11", "2026-12"]


def test_an_answer_carries_no_trace_of_who_gave_it(make, session):
    org = make.org()
    for score in (10, 0, 7):
        pulse.answer_pulse(session, make.user(org, "staff"), score, today=NOVEMBER)
        session.commit()
    columns = {column.key for column in inspect(t.PulseAnswer).columns}
    assert not {c for c in columns if "user" in c or "author" in c}
    stored = answers(session, org)
    assert sorted(a.score for a in stored) == [0, 7, 10]
    assert {a.created_at for a in stored} == {dt.datetime(2026, 11, 1)}
    assert {a.scale for a in stored} == {"enps-0-10"}


def test_scores_outside_zero_to_ten_are_refused(make, session):
    user = make.user(make.org(), "staff")
    for score in (-1, 11):
        with pytest.raises(InvalidInput) as refused:
            pulse.answer_pulse(session, user, score, today=NOVEMBER)
        assert refused.value.field == "score"


def test_nobody_answers_while_the_pulse_is_switched_off(make, session):
    org = make.org()
    org.pulse_enabled = False
    session.commit()
    with pytest.raises(Forbidden):
        pulse.answer_pulse(session, make.user(org, "staff"), 8, today=NOVEMBER)


def test_history_shows_closed_months_and_counts_each_group(make, session):
    org = make.org()
    for score in (10, 9, 8, 6, 0, 3):
        pulse.answer_pulse(session, make.user(org, "staff"), score, today=NOVEMBER)
    pulse.answer_pulse(session, make.user(org, "staff"), 10, today=DECEMBER)
    session.commit()
    history = pulse.enps_history(session, org.id, today=DECEMBER)
    assert len(history) == 12 and history[0].period == "2026-11"
    november = history[0]
    assert (november.answers, november.promoters, november.passives, november.detractors) == (
        6,
        2,
        1,
        3,
    )
    assert november.score == pytest.approx(100 * (2 - 3) / 6)
    assert all(month.period != "2026-12" for month in history)
    overview = pulse.overview(session, make.user(org, "owner"), today=DECEMBER)
    assert overview.answers_so_far == 1 and not overview.answered
    assert overview.latest == november


# -- the page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "owner", "reviewer", "admin"])
def test_every_role_may_answer_the_pulse_once(client, make, session, role):
    org = make.org()
    make.login(client, make.user(org, role))
    page = client.get("/pulse")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "How likely are you to recommend working here?" in body
    assert "anonymous by design" in body
    sent = client.post("/pulse", data={"score": "8"})
    assert sent.status_code == 302
    after = client.get("/pulse").get_data(as_text=True)
    assert "You have answered the pulse for" in after
    again = client.post("/pulse", data={"score": "2"})
    assert again.status_code == 422
    assert "already answered" in again.get_data(as_text=True)
    assert [a.score for a in answers(session, org)] == [8]


def test_a_missing_score_is_named(client, make):
    make.login(client, make.user(make.org(), "staff"))
    response = client.post("/pulse", data={})
    assert response.status_code == 422
    assert "Choose a score from 0 (not at all likely) to 10" in response.get_data(as_text=True)


def test_the_page_says_when_the_pulse_is_switched_off(client, make, session):
    org = make.org()
    org.pulse_enabled = False
    session.commit()
    make.login(client, make.user(org, "staff"))
    assert "switched off" in client.get("/pulse").get_data(as_text=True)
    refused = client.post("/pulse", data={"score": "5"}, follow_redirects=True)
    assert "switched off" in refused.get_data(as_text=True)
    assert answers(session, org) == []


def test_the_page_hides_small_months_and_says_why(client, make, session):
    org = make.org()
    last_month = dt.date.today().replace(day=1) - dt.timedelta(days=1)
    for score in (10, 10, 0):
        pulse.answer_pulse(session, make.user(org, "staff"), score, today=last_month)
    session.commit()
    make.login(client, make.user(org, "reviewer"))
    for url in ("/pulse", "/signals"):
        body = client.get(url).get_data(as_text=True)
        assert "Hidden: fewer than 5 answers" in body


def test_the_page_shows_enps_of_a_closed_month_with_enough_answers(client, make, session):
    org = make.org()
    last_month = dt.date.today().replace(day=1) - dt.timedelta(days=1)
    for score in (10, 9, 9, 7, 2):
        pulse.answer_pulse(session, make.user(org, "staff"), score, today=last_month)
    session.commit()
    make.login(client, make.user(org, "owner"))
    body = client.get("/pulse").get_data(as_text=True)
    assert "+40" in body and "3 (60%)" in body and "1 (20%)" in body
    assert "+40" in client.get("/signals").get_data(as_text=True)
