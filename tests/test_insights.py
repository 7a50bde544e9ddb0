"""Both sides of the coin: flags over time, CES figures, agreement between staff and customers,
and who may open the signal pages."""

from __future__ import annotations

import datetime as dt

import pytest

from web import rendering
from workflow.adapters import tables as t
from workflow.services import insights
from workflow.services.processes import import_model

SHOP = """\
leanlane: 1
name: Lamp shop
processes:
  - id: buy
    name: Buy a lamp
    perspective: customer_journey
    lanes: [{id: customer, name: Customer, kind: customer}]
    steps:
      - {id: start, name: Want a lamp, kind: start, lane: customer}
      - {id: order, name: Order online, lane: customer, served_by: [pack/pick, pack/label]}
      - {id: pay, name: Pay by card, lane: customer}
      - {id: end, name: Lamp arrives, kind: end, lane: customer}
    flows: [start -> order, order -> pay, pay -> end]
  - id: pack
    name: Pack an order
    lanes: [{id: store, name: Store}]
    steps:
      - {id: start, name: Order in, kind: start, lane: store}
      - {id: pick, name: Pick the lamp, lane: store}
      - {id: label, name: Print the label, lane: store}
      - {id: end, name: Parcel out, kind: end, lane: store}
    flows: [start -> pick, pick -> label, label -> end]
"""

TODAY = dt.date(2026, 11, 18)


@pytest.fixture
def shop(app, make, session):
    org = make.org("Lamp shop")
    rows = import_model(
        session,
        org.id,
        None,
        SHOP,
        source="shop.yaml",
        renderer=rendering.renderer(app),
        step_url=rendering.step_url,
    )
    session.commit()
    return org, {row.key: row for row in rows}


def add_flag(session, process, step, source, *, status="new", when=None, category="waiting"):
    flag = t.Flag(
        org_id=process.org_id,
        process_id=process.id,
        step_id=step,
        step_name=step,
        source=source,
        category=category,
        severity=3,
        status=status,
        created_at=when or dt.datetime(2026, 11, 10, 12),
    )
    session.add(flag)
    session.commit()
    return flag


def add_ces(session, process, step, *scores, scale="ces_1_7"):
    for score in scores:
        session.add(
            t.CesAnswer(
                org_id=process.org_id,
                process_id=process.id,
                step_id=step,
                score=score,
                scale=scale,
            )
        )
    session.commit()


# -- periods and flags over time ---------------------------------------------------------------


def test_the_last_twelve_months_end_with_the_current_one():
    periods = insights.recent_periods("month", TODAY)
    assert len(periods) == 12
    assert periods[0].key == "2025-12" and periods[-1].key == "2026-11"
    assert periods[-1].start == dt.date(2026, 11, 1) and periods[-1].end == dt.date(2026, 12, 1)


def test_the_last_twelve_iso_weeks_start_on_mondays_and_cross_the_year_boundary():
    periods = insights.recent_periods("week", dt.date(2026, 1, 7))
    assert periods[-1].key == "2026-W02" and periods[-1].start == dt.date(2026, 1, 5)
    assert periods[-2].key == "2026-W01" and periods[-3].key == "2025-W52"
    assert all(p.start.weekday() == 0 and (p.end - p.start).days == 7 for p in periods)


def test_flags_over_time_counts_each_source_in_its_own_month(shop, session):
    org, rows = shop
    buy, pack = rows["buy"], rows["pack"]
    add_flag(session, buy, "order", "customer", when=dt.datetime(2026, 11, 2, 9))
    add_flag(session, buy, "pay", "customer", status="addressed", when=dt.datetime(2026, 11, 30))
    add_flag(session, pack, "pick", "staff", when=dt.datetime(2026, 10, 31, 23, 59))
    add_flag(session, pack, "pick", "staff", when=dt.datetime(2025, 11, 30))
    timeline = insights.flags_over_time(session, org.id, unit="month", today=TODAY)
    by_key = {point.period.key: point for point in timeline}
    assert (by_key["2026-11"].staff, by_key["2026-11"].customer) == (0, 2)
    assert (by_key["2026-10"].staff, by_key["2026-10"].customer) == (1, 0)
    assert "2025-11" not in by_key
    assert sum(point.total for point in timeline) == 3


def test_flags_over_time_per_week_and_per_process(shop, session):
    org, rows = shop
    add_flag(session, rows["buy"], "order", "customer", when=dt.datetime(2026, 11, 16, 8))
    add_flag(session, rows["pack"], "pick", "staff", when=dt.datetime(2026, 11, 15, 22))
    weeks = insights.flags_over_time(
        session, org.id, unit="week", today=TODAY, process_ids=[rows["pack"].id]
    )
    assert [(p.period.key, p.staff, p.customer) for p in weeks[-2:]] == [
        ("2026-W46", 1, 0),
        ("2026-W47", 0, 0),
    ]


def test_flags_of_another_organisation_are_not_counted(shop, make, session):
    org, _rows = shop
    other = make.org("Other")
    other_rows = make.model(other)
    add_flag(session, other_rows["file_claim"], "report", "customer")
    timeline = insights.flags_over_time(session, org.id, today=TODAY)
    assert sum(point.total for point in timeline) == 0


# -- CES ---------------------------------------------------------------------------------------


def test_ces_figures_give_the_mean_and_the_share_who_agree():
    figures = insights.ces_figures([7, 5, 4, 2])
    assert figures.answers == 4
    assert figures.mean == pytest.approx(4.5)
    assert figures.pct_agree == pytest.approx(50.0)
    assert insights.ces_figures([]).mean is None


def test_ces_per_journey_step_ignores_answers_on_other_scales(shop, session):
    _org, rows = shop
    buy = rows["buy"]
    add_ces(session, buy, "order", 2, 3, 6)
    add_ces(session, buy, "pay", 7)
    add_ces(session, buy, None, 5)
    add_ces(session, buy, "order", 99, scale="other")
    signals = insights.process_signals(session, buy, today=TODAY)
    by_step = {item.step_id: item for item in signals.step_ces}
    assert by_step["order"].figures.answers == 3
    assert by_step["order"].figures.mean == pytest.approx(11 / 3)
    assert by_step["order"].figures.pct_agree == pytest.approx(100 / 3)
    assert by_step["order"].step_name == "Order online"
    assert by_step[None].figures.answers == 1
    assert [item.step_id for item in signals.step_ces] == [None, "order", "pay"]
    assert signals.ces.answers == 5
    assert signals.ces.mean == pytest.approx(23 / 5)


def test_an_employee_process_shows_the_ces_of_the_journey_steps_it_serves(shop, session):
    _org, rows = shop
    add_ces(session, rows["buy"], "order", 1, 7)
    add_ces(session, rows["buy"], "pay", 2)
    signals = insights.process_signals(session, rows["pack"], today=TODAY)
    assert len(signals.served_ces) == 1
    served = signals.served_ces[0]
    assert (served.journey_step, served.journey_step_name) == ("order", "Order online")
    assert [step for step, _ in served.serving_steps] == ["label", "pick"]
    assert served.figures.answers == 2 and served.figures.mean == pytest.approx(4.0)
    assert signals.ces.answers == 2


def test_ces_per_journey_on_the_organisation_page(shop, session):
    org, rows = shop
    add_ces(session, rows["buy"], "order", 6, 7)
    add_ces(session, rows["buy"], None, 1)
    signals = insights.organisation_signals(session, org, today=TODAY)
    journey = next(p for p in signals.journeys if p.process.key == "buy")
    assert journey.ces.answers == 3 and journey.ces.mean == pytest.approx(14 / 3)
    assert journey.ces.pct_agree == pytest.approx(200 / 3)
    assert [p.process.key for p in signals.journeys] == ["buy"]


# -- agreement ---------------------------------------------------------------------------------


def test_staff_and_customers_agree_on_a_step_they_both_flag(shop, session):
    org, rows = shop
    add_flag(session, rows["buy"], "pay", "customer")
    add_flag(session, rows["buy"], "pay", "staff")
    add_flag(session, rows["buy"], "order", "customer")
    found = insights.agreements(session, org.id)
    assert [(a.step.step_id, a.direct, a.serving) for a in found] == [("pay", True, ())]
    assert found[0].step.step_name == "Pay by card"


def test_staff_flags_on_a_serving_step_agree_with_customer_flags_on_the_journey_step(shop, session):
    org, rows = shop
    add_flag(session, rows["buy"], "order", "customer")
    add_flag(session, rows["buy"], "order", "customer")
    add_flag(session, rows["pack"], "pick", "staff")
    add_flag(session, rows["pack"], "label", "customer")
    found = insights.agreements(session, org.id)
    assert len(found) == 1
    agreement = found[0]
    assert agreement.step.step_id == "order" and not agreement.direct
    assert [(ref.process_id, ref.step_id, ref.staff) for ref in agreement.serving] == [
        (rows["pack"].id, "pick", 1)
    ]
    assert (agreement.customer, agreement.staff) == (2, 1)
    pack_page = insights.process_signals(session, rows["pack"], today=TODAY)
    assert [a.step.step_id for a in pack_page.agreements] == ["order"]


def test_closed_flags_and_removed_steps_make_no_agreement(shop, session):
    org, rows = shop
    add_flag(session, rows["buy"], "order", "customer", status="addressed")
    add_flag(session, rows["pack"], "pick", "staff")
    add_flag(session, rows["buy"], "gone", "customer")
    add_flag(session, rows["buy"], "gone", "staff")
    add_flag(session, rows["buy"], "pay", "customer")
    add_flag(session, rows["buy"], "pay", "staff", status="wont_fix")
    assert insights.agreements(session, org.id) == []


def test_flag_categories_are_counted_by_source(shop, session):
    _org, rows = shop
    add_flag(session, rows["buy"], "order", "customer", category="unclear")
    add_flag(session, rows["buy"], "pay", "customer", category="unclear", status="addressed")
    add_flag(session, rows["buy"], "pay", "staff", category="unclear")
    add_flag(session, rows["buy"], "pay", "staff", category="system_trouble")
    signals = insights.process_signals(session, rows["buy"], today=TODAY)
    assert [(c.category, c.staff, c.customer) for c in signals.categories] == [
        ("unclear", 1, 2),
        ("system_trouble", 1, 0),
    ]
    assert (signals.staff.open, signals.customer.open) == (2, 1)


# -- pages -------------------------------------------------------------------------------------


def test_the_organisation_page_shows_both_sides_and_links_agreeing_steps(
    app, client, make, shop, session
):
    org, rows = shop
    add_flag(session, rows["buy"], "order", "customer", when=t.utcnow())
    add_flag(session, rows["pack"], "pick", "staff", when=t.utcnow())
    add_ces(session, rows["buy"], "order", 3, 6)
    make.login(client, make.user(org, "reviewer"))
    page = client.get("/signals")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Staff say" in body and "Customers say" in body
    assert "Where staff and customers agree" in body
    assert "Order online" in body and "Pick the lamp" in body
    assert "<svg" in body and "1 staff flag" in body and "1 customer flag" in body
    assert "4.5" in body and "50%" in body
    if "staff.step" in app.view_functions:
        assert f'href="/processes/{rows["buy"].id}/steps/order"' in body
        assert f'href="/processes/{rows["pack"].id}/steps/pick"' in body
    weekly = client.get("/signals?by=week").get_data(as_text=True)
    assert "Flags raised per week" in weekly


def test_pages_have_empty_states_when_nothing_was_said(client, make):
    org = make.org()
    make.login(client, make.user(org, "owner"))
    body = client.get("/signals").get_data(as_text=True)
    assert "No step has open flags from both staff and customers" in body
    assert "No customer journeys yet" in body
    assert "No flags were raised in these 12 months" in body
    assert "No pulse answers in the last twelve months" in body


def test_the_journey_page_lists_ces_per_step_and_categories(client, make, shop, session):
    org, rows = shop
    add_ces(session, rows["buy"], "pay", 7, 6)
    add_flag(session, rows["buy"], "pay", "customer", category="asked_twice", when=t.utcnow())
    make.login(client, make.user(org, "reviewer"))
    page = client.get(f"/processes/{rows['buy'].id}/signals")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Customer effort per step" in body and "Pay by card" in body
    assert "Asked twice" in body
    assert "6.5" in body and "100%" in body


def test_the_employee_process_page_lists_the_journey_steps_it_serves(client, make, shop, session):
    org, rows = shop
    add_ces(session, rows["buy"], "order", 2)
    make.login(client, make.user(org, "owner"))
    body = client.get(f"/processes/{rows['pack'].id}/signals?by=week").get_data(as_text=True)
    assert "Customer effort of the journey steps this process serves" in body
    assert "Order online" in body and "Pick the lamp" in body and "Print the label" in body
    assert "Nobody has flagged a step of this process yet." in body


@pytest.mark.parametrize(
    ("role", "status"), [("staff", 403), ("owner", 200), ("reviewer", 200), ("admin", 200)]
)
def test_who_may_open_the_signal_pages(client, make, shop, role, status):
    org, rows = shop
    make.login(client, make.user(org, role))
    assert client.get("/signals").status_code == status
    assert client.get(f"/processes/{rows['buy'].id}/signals").status_code == status


def test_anonymous_visitors_are_sent_to_log_in(client, shop):
    _, rows = shop
    for url in ("/signals", f"/processes/{rows['buy'].id}/signals", "/pulse"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_organisations_process_signals_are_not_found(client, make, shop):
    _, rows = shop
    stranger = make.user(make.org("Elsewhere"), "reviewer")
    make.login(client, stranger)
    assert client.get(f"/processes/{rows['buy'].id}/signals").status_code == 404
    assert client.get("/processes/999999/signals").status_code == 404
