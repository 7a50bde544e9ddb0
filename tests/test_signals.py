"""Staff flags as a use case: raising one, "me too", withdrawing, and reading them back."""

from __future__ import annotations

import itertools

import pytest

from web import rendering
from workflow import model as engine
from workflow.adapters import tables as t
from workflow.services import processes, signals
from workflow.services.errors import Forbidden, InvalidInput, NotFound
from workflow.vocabulary import FlagStatus, StepKind


def chain(*names: str, key: str = "intake") -> engine.Process:
    """A straight process ``start -> names... -> end`` with every step in the clerk lane."""
    ids = ["start", *names, "end"]
    kinds = {"start": StepKind.START, "end": StepKind.END}
    steps = [
        engine.Step(i, i.replace("_", " ").title(), kinds.get(i, StepKind.TASK), lane="clerk")
        for i in ids
    ]
    lanes = [engine.Lane("clerk", "Clerk")]
    flows = list(itertools.pairwise(ids))
    return engine.Process.build(key, steps, flows, name=key.title(), lanes=lanes)


@pytest.fixture
def org(make):
    return make.org()


@pytest.fixture
def process(app, session, org):
    row = processes.create_process(
        session,
        org.id,
        None,
        key="intake",
        name="Intake",
        perspective=chain().perspective,
        process=chain("check", "approve"),
    )
    session.commit()
    return row


def raise_flag(session, user, process, step="check", **kwargs):
    kwargs.setdefault("category", "waiting")
    kwargs.setdefault("severity", 3)
    flag = signals.flag_step(session, user, process, step, **kwargs)
    session.commit()
    return flag


def test_a_flag_is_stored_with_the_step_name_and_bumps_the_signals_revision(
    session, make, org, process
):
    staff = make.user(org, "staff")
    before = process.signals_revision
    flag = raise_flag(session, staff, process, text="  Waits two days  ", idea="Auto-assign")
    session.refresh(process)
    assert process.signals_revision == before + 1
    stored = session.get(t.Flag, flag.id)
    assert (stored.step_id, stored.step_name, stored.source) == ("check", "Check", "staff")
    assert (stored.category, stored.severity, stored.status) == ("waiting", 3, "new")
    assert (stored.text, stored.idea, stored.author_id) == (
        "Waits two days",
        "Auto-assign",
        staff.id,
    )


def test_flag_text_loses_control_characters(session, make, org, process):
    flag = raise_flag(session, make.user(org), process, text="bell\x07 and\x00 nul\nline")
    assert flag.text == "bell and nul\nline"


def test_a_step_missing_from_the_current_version_cannot_be_flagged(session, make, org, process):
    with pytest.raises(NotFound):
        raise_flag(session, make.user(org), process, step="nowhere")


def test_another_organisations_process_cannot_be_flagged(session, make, process):
    stranger = make.user(make.org("Other"), "staff")
    with pytest.raises(NotFound):
        raise_flag(session, stranger, process)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "bad_luck"}, "category"),
        ({"severity": 0}, "severity"),
        ({"severity": 6}, "severity"),
        ({"text": "x" * 1001}, "text"),
        ({"idea": "y" * 1001}, "idea"),
    ],
)
def test_invalid_flags_are_refused_naming_the_field(session, make, org, process, changes, field):
    with pytest.raises(InvalidInput) as refused:
        raise_flag(session, make.user(org), process, **changes)
    assert refused.value.field == field
    assert session.query(t.Flag).count() == 0


def test_me_too_counts_each_person_once(session, make, org, process):
    author, other = make.user(org), make.user(org)
    flag = raise_flag(session, author, process)
    revision = session.get(t.Process, process.id).signals_revision
    assert signals.me_too(session, other, flag.id) is True
    session.commit()
    assert signals.me_too(session, other, flag.id) is True
    session.commit()
    assert session.query(t.FlagVote).filter_by(flag_id=flag.id).count() == 1
    session.refresh(process)
    assert process.signals_revision == revision + 1


def test_me_too_can_be_taken_back(session, make, org, process):
    author, other = make.user(org), make.user(org)
    flag = raise_flag(session, author, process)
    signals.me_too(session, other, flag.id)
    session.commit()
    assert signals.me_too(session, other, flag.id, agree=False) is False
    session.commit()
    assert session.query(t.FlagVote).count() == 0


def test_nobody_says_me_too_on_their_own_flag(session, make, org, process):
    author = make.user(org)
    flag = raise_flag(session, author, process)
    with pytest.raises(Forbidden):
        signals.me_too(session, author, flag.id)


def test_closed_flags_take_no_new_me_too(session, make, org, process):
    author, other = make.user(org), make.user(org)
    flag = raise_flag(session, author, process)
    flag.status = FlagStatus.ADDRESSED.value
    session.commit()
    with pytest.raises(InvalidInput):
        signals.me_too(session, other, flag.id)


def test_me_too_on_another_organisations_flag_is_not_found(session, make, org, process):
    flag = raise_flag(session, make.user(org), process)
    stranger = make.user(make.org("Other"))
    with pytest.raises(NotFound):
        signals.me_too(session, stranger, flag.id)


def test_me_too_must_name_the_flags_own_step_when_a_step_is_given(session, make, org, process):
    flag = raise_flag(session, make.user(org), process)
    with pytest.raises(NotFound):
        signals.me_too(session, make.user(org), flag.id, process_id=process.id, step_id="approve")


def test_the_author_withdraws_a_new_flag(session, make, org, process):
    author = make.user(org)
    flag = raise_flag(session, author, process)
    revision = session.get(t.Process, process.id).signals_revision
    signals.withdraw_flag(session, author, flag.id)
    session.commit()
    assert session.query(t.Flag).count() == 0
    session.refresh(process)
    assert process.signals_revision == revision + 1


def test_only_the_author_may_withdraw_a_flag(session, make, org, process):
    flag = raise_flag(session, make.user(org), process)
    with pytest.raises(NotFound):
        signals.withdraw_flag(session, make.user(org, "admin"), flag.id)


def test_a_flag_under_review_or_joined_by_others_stays(session, make, org, process):
    author = make.user(org)
    reviewed = raise_flag(session, author, process)
    reviewed.status = FlagStatus.UNDER_REVIEW.value
    joined = raise_flag(session, author, process, step="approve")
    signals.me_too(session, make.user(org), joined.id)
    session.commit()
    with pytest.raises(Forbidden, match="picked this flag up"):
        signals.withdraw_flag(session, author, reviewed.id)
    with pytest.raises(Forbidden, match="me too"):
        signals.withdraw_flag(session, author, joined.id)
    assert session.query(t.Flag).count() == 2


def test_step_counts_show_open_flags_by_source(session, make, org, process):
    staff = make.user(org)
    raise_flag(session, staff, process)
    raise_flag(session, staff, process)
    closed = raise_flag(session, staff, process)
    closed.status = FlagStatus.WONT_FIX.value
    session.add(
        t.Flag(
            org_id=org.id,
            process_id=process.id,
            step_id="check",
            source="customer",
            category="waiting",
            severity=2,
        )
    )
    session.commit()
    counts = signals.step_flag_counts(session, process.id)
    assert counts == {"check": signals.FlagCounts(staff=2, customer=1)}
    assert counts["check"].total == 3


def test_anonymous_authors_are_named_to_admins_and_themselves_only(session, make, org, process):
    author = make.user(org, name="Ada Clerk")
    raise_flag(session, author, process, anonymous=True)
    seen = {}
    for role in ("staff", "owner", "reviewer", "admin"):
        (view,) = signals.flags_on_step(session, make.user(org, role), process, "check").items
        seen[role] = (view.author_name, view.anonymous_to_others)
    assert seen == {
        "staff": ("", False),
        "owner": ("", False),
        "reviewer": ("", False),
        "admin": ("Ada Clerk", True),
    }
    (own,) = signals.flags_on_step(session, author, process, "check").items
    assert own.mine and own.author_name == "Ada Clerk"


def test_flags_on_a_step_list_open_ones_first_with_votes_and_pages(session, make, org, process):
    author, viewer = make.user(org), make.user(org)
    old = raise_flag(session, author, process, text="old")
    old.status = FlagStatus.ADDRESSED.value
    for n in range(3):
        raise_flag(session, author, process, text=f"open {n}")
    newest = raise_flag(session, author, process, text="newest")
    signals.me_too(session, viewer, newest.id)
    session.commit()
    first = signals.flags_on_step(session, viewer, process, "check", per_page=2)
    assert (first.total, first.pages, first.number) == (5, 3, 1)
    assert [v.flag.text for v in first.items] == ["newest", "open 2"]
    assert first.items[0].votes == 1 and first.items[0].voted
    assert not first.items[1].voted and first.items[1].votes == 0
    assert first.open == signals.FlagCounts(staff=4, customer=0)
    last = signals.flags_on_step(session, viewer, process, "check", page=99, per_page=2)
    assert last.number == 3 and [v.flag.text for v in last.items] == ["old"]


def test_my_flags_are_newest_first_including_anonymous_ones_and_paginated(
    session, make, org, process
):
    me, someone = make.user(org), make.user(org)
    for n in range(23):
        raise_flag(session, me, process, text=f"mine {n}", anonymous=n % 2 == 0)
    raise_flag(session, someone, process, text="not mine")
    first = signals.my_flags(session, me)
    assert (first.total, first.pages, len(first.items)) == (23, 2, 20)
    assert first.items[0].flag.text == "mine 22" and first.items[0].flag.anonymous
    second = signals.my_flags(session, me, page=2)
    assert [m.flag.text for m in second.items] == ["mine 2", "mine 1", "mine 0"]
    assert all(m.process_name == "Intake" and m.step_exists for m in second.items)


def test_my_flags_name_the_proposal_a_flag_is_linked_to(session, make, org, process):
    me = make.user(org)
    flag = raise_flag(session, me, process)
    review = t.ProposalReview(
        org_id=org.id,
        process_id=process.id,
        version_number=1,
        proposal_key="eliminate:check",
        title="Drop the manual check",
        rule="eliminate",
    )
    session.add(review)
    session.flush()
    flag.review_id = review.id
    flag.status = FlagStatus.ADDRESSED.value
    flag.status_reason = "The check is automated now."
    session.commit()
    (mine,) = signals.my_flags(session, me).items
    assert mine.proposal_title == "Drop the manual check"
    assert mine.flag.status_reason == "The check is automated now."


def test_a_step_removed_later_keeps_its_flags(app, session, make, org, process):
    me = make.user(org)
    flag = raise_flag(session, me, process, step="approve")
    processes.save_version(
        session,
        process,
        chain("check"),
        author_id=None,
        summary="Dropped the approval",
        base_version=process.current_version,
        renderer=rendering.renderer(app),
        step_url=rendering.step_url,
    )
    session.commit()
    mine = signals.my_flag(session, me, flag.id)
    assert mine.flag.step_name == "Approve" and not mine.step_exists
    with pytest.raises(NotFound):
        signals.current_step(session, process, "approve")


def test_someone_elses_flag_is_not_among_mine(session, make, org, process):
    flag = raise_flag(session, make.user(org), process)
    with pytest.raises(NotFound):
        signals.my_flag(session, make.user(org), flag.id)


def test_a_user_without_flags_has_an_empty_first_page(session, make, org):
    page = signals.my_flags(session, make.user(org))
    assert (page.items, page.total, page.pages, page.has_next) == ([], 0, 1, False)
