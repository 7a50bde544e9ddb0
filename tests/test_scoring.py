import datetime as dt

import pytest

from tests.helpers import line, process, step
from workflow.metrics import compute_metrics
from workflow.model import CesAnswer, Flag, Link, ProcessModel
from workflow.scoring import AGREEMENT_BOOST, score_process
from workflow.vocabulary import (
    FlagCategory,
    FlagSource,
    FlagStatus,
    Perspective,
    StepKind,
    ValueClass,
)

TODAY = dt.date(2026, 11, 23)


def flag(source=FlagSource.STAFF, severity=3, days_old=0, **kw):
    return Flag(
        source,
        kw.pop("category", FlagCategory.POINTLESS),
        severity,
        date=TODAY - dt.timedelta(days=days_old),
        **kw,
    )


def scores_of(p, model=None):
    return score_process(p, compute_metrics(p), model=model, as_of=TODAY)


def test_every_score_is_the_sum_of_its_parts():
    p = line(
        step("a", touch_minutes=10, wait_minutes=100, lane="clerk", flags=(flag(),)),
        step("b", touch_minutes=5, lane="boss", value_class=ValueClass.VA, customer_value=4),
    )
    for score in scores_of(p).values():
        for part in (score.effort, score.value, score.pain, score.priority):
            assert sum(x.points for x in part.parts) == pytest.approx(part.value)
            assert 0 <= part.value <= 100


def test_start_end_and_routing_decisions_are_not_scored():
    p = process(
        [
            step("s", StepKind.START),
            step("d", StepKind.DECISION),
            step("a"),
            step("b"),
            step("e", StepKind.END),
        ],
        [("s", "d"), ("d", "a", 0.5), ("d", "b", 0.5), ("a", "e"), ("b", "e")],
    )
    assert set(scores_of(p)) == {"a", "b"}


def test_the_slowest_step_has_the_most_effort_and_says_why():
    p = line(step("slow", touch_minutes=30, wait_minutes=600), step("quick", touch_minutes=2))
    scores = scores_of(p)
    assert scores["slow"].effort.value == pytest.approx(100)
    assert scores["quick"].effort.value < 10
    assert "630 min per case" in scores["slow"].reasons()[0]


def test_value_follows_class_and_ratings():
    p = line(
        step("va", value_class=ValueClass.VA, customer_value=5, business_value=5),
        step("nva", value_class=ValueClass.NVA),
    )
    scores = scores_of(p)
    assert scores["va"].value.value == 100
    assert scores["nva"].value.value == 0
    assert "non-value-adding" in scores["nva"].reasons()


def test_closed_flags_cause_no_pain():
    p = line(step("a", flags=(flag(status=FlagStatus.ADDRESSED), flag(status=FlagStatus.WONT_FIX))))
    assert scores_of(p)["a"].pain.value == 0


def test_recent_severe_flags_hurt_more_than_old_mild_ones():
    p = line(
        step("recent", flags=(flag(severity=5, days_old=1),)),
        step("old", flags=(flag(severity=5, days_old=720),)),
        step("mild", flags=(flag(severity=1, days_old=1),)),
    )
    s = scores_of(p)
    assert s["recent"].pain.value > s["old"].pain.value
    assert s["recent"].pain.value > s["mild"].pain.value


def test_more_people_saying_me_too_raise_pain():
    p = line(step("one", flags=(flag(),)), step("many", flags=(flag(me_too=7),)))
    s = scores_of(p)
    assert s["many"].pain.value > s["one"].pain.value
    assert "from 8 people" in " ".join(s["many"].reasons())


def test_staff_and_customers_agreeing_boosts_pain():
    staff_only = line(step("a", flags=(flag(), flag())))
    both = line(step("a", flags=(flag(), flag(FlagSource.CUSTOMER))))
    alone, agreed = scores_of(staff_only)["a"], scores_of(both)["a"]
    assert not alone.agreement and agreed.agreement
    assert agreed.pain.value > alone.pain.value
    assert any(p.label == "agreement" for p in agreed.pain.parts)
    assert agreed.reasons()[0] == "staff and customers both flag it"
    assert AGREEMENT_BOOST > 1


def test_hard_ces_answers_count_as_customer_pain():
    p = line(step("a", ces=(CesAnswer(1), CesAnswer(2), CesAnswer(7))))
    a = scores_of(p)["a"]
    assert a.pain.value > 0 and a.customer_signals == 2
    assert "customers rate the ease 3.3/7 (3 answers)" in a.reasons()


def linked_model():
    journey = line(
        step("wait", lane="customer", flags=(flag(FlagSource.CUSTOMER, severity=5),)),
        lane="customer",
    )
    journey = process(
        list(journey.steps()),
        [(u, v) for u, v, _ in journey.flows()],
        id="j",
        perspective=Perspective.CUSTOMER_JOURNEY,
    )
    work = line(step("check", touch_minutes=5, flags=(flag(FlagSource.STAFF, severity=4),)))
    return ProcessModel("m", (journey, work), (Link("j", "wait", "p", "check"),))


def test_signals_cross_the_service_blueprint_link_both_ways():
    model = linked_model()
    journey, work = model.processes
    check = scores_of(work, model)["check"]
    wait = scores_of(journey, model)["wait"]
    assert check.agreement and wait.agreement
    assert any(p.label == "linked customer flags" for p in check.pain.parts)
    assert any(p.label == "linked staff flags" for p in wait.pain.parts)
    unlinked = scores_of(work)["check"]
    assert check.pain.value > unlinked.pain.value


def test_priority_puts_painful_low_value_effort_first():
    p = line(
        step(
            "bad",
            touch_minutes=30,
            wait_minutes=300,
            value_class=ValueClass.NVA,
            flags=(flag(severity=5),),
        ),
        step("good", touch_minutes=30, wait_minutes=300, value_class=ValueClass.VA),
    )
    s = scores_of(p)
    assert s["bad"].priority.value > s["good"].priority.value
