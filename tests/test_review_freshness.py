"""Review figures under a stream of signals: pages may show an analysis whose signals are a few
seconds behind, decisions never do, and nobody sees figures from before their own change."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.services import review_analysis
from workflow.services.analysis_cache import AnalysisCache
from workflow.services.processes import save_version
from workflow.services.review_analysis import EXACT, Freshness

BEHIND_NOTE = "Figures measured"


@pytest.fixture
def org(claim_org):
    return claim_org


def new_signal(session, org) -> None:
    """What a customer's feedback does to the organisation's state: a signals revision."""
    session.execute(
        update(t.Process)
        .where(t.Process.id == org.journey.id)
        .values(signals_revision=t.Process.signals_revision + 1)
    )
    session.commit()


def measure(session, org, cache, freshness=EXACT):
    return review_analysis.org_analysis(
        session, org.org, cache, simulation_runs=0, freshness=freshness
    )


def test_an_exact_reader_gets_a_new_measurement_after_every_signal(session, org):
    cache = AnalysisCache()
    first = measure(session, org, cache)
    assert measure(session, org, cache) is first
    new_signal(session, org)
    second = measure(session, org, cache)
    assert second is not first and second.up_to_date


def test_a_tolerant_reader_reuses_a_recent_analysis_and_is_told_it_is_behind(session, org):
    cache = AnalysisCache()
    first = measure(session, org, cache)
    new_signal(session, org)
    reused = measure(session, org, cache, Freshness(max_age=60))
    assert not reused.up_to_date
    assert reused.analysis is first.analysis and reused.measured_at == first.measured_at
    assert first.up_to_date, "the cached analysis itself is not marked"


def test_a_tolerant_reader_gets_a_new_measurement_once_the_old_one_is_too_old(session, org):
    cache = AnalysisCache()
    first = measure(session, org, cache)
    new_signal(session, org)
    again = measure(session, org, cache, Freshness(max_age=60, not_before=first.measured_at + 1))
    assert again.up_to_date and again.analysis is not first.analysis
    new_signal(session, org)
    aged = Freshness(max_age=again.age() / 2 if again.age() > 0 else 0.0)
    assert measure(session, org, cache, aged).up_to_date


def test_figures_from_before_the_readers_own_change_are_never_reused(session, org):
    cache = AnalysisCache()
    first = measure(session, org, cache)
    new_signal(session, org)
    mine = Freshness(max_age=3600, not_before=time.time() + 1)
    assert first.measured_at < mine.not_before
    fresh = measure(session, org, cache, mine)
    assert fresh.up_to_date and fresh.analysis is not first.analysis


def test_a_new_version_is_measured_at_once_whatever_the_reader_accepts(session, org):
    cache = AnalysisCache()
    first = measure(session, org, cache)
    row = session.get(t.Process, org.claims.id)
    process = repo.parse_document(repo.current_version(session, row).document).process
    save_version(session, row, process, author_id=None, summary="Same again", base_version=1)
    session.commit()
    after = measure(session, org, cache, Freshness(max_age=3600))
    assert after.up_to_date and after.analysis is not first.analysis


def test_the_dashboard_says_when_its_figures_are_behind_the_signals(client, make, session, org):
    make.login(client, org.reviewer)
    assert BEHIND_NOTE not in client.get(f"/review/{org.journey.id}").get_data(as_text=True)
    new_signal(session, org)
    body = client.get(f"/review/{org.journey.id}").get_data(as_text=True)
    assert BEHIND_NOTE in body and "The flags listed below are up to date" in body


def test_the_readers_own_change_shows_at_once(client, make, session, org):
    make.login(client, org.reviewer)
    client.get(f"/review/{org.journey.id}")
    flag = t.Flag(
        org_id=org.org.id,
        process_id=org.journey.id,
        step_id="chase",
        step_name="Call to chase status",
        source="customer",
        category="chasing_status",
        severity=4,
        text="Still waiting.",
    )
    session.add(flag)
    session.commit()
    answer = client.post(
        f"/review/{org.journey.id}/flags/{flag.id}/status",
        data={"status": "wont_fix", "reason": "Out of our hands."},
    )
    assert answer.status_code in (302, 303)
    body = client.get(f"/review/{org.journey.id}").get_data(as_text=True)
    assert BEHIND_NOTE not in body


def test_with_no_tolerance_set_the_dashboard_is_always_exact(app, client, make, session, org):
    app.config["REVIEW_ANALYSIS_MAX_AGE"] = 0
    make.login(client, org.reviewer)
    client.get(f"/review/{org.journey.id}")
    new_signal(session, org)
    assert BEHIND_NOTE not in client.get(f"/review/{org.journey.id}").get_data(as_text=True)
