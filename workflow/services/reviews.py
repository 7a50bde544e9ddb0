"""The improvement team's review of a process, and closing the loop with the people who flagged.

Reviewers read an analysis of the current version (metrics, hotspots, proposals), triage flags,
accept or reject proposals and apply the accepted ones into a new version. Decisions live in
``ProposalReview`` rows keyed by (process, version number, proposal id): a proposal is always
judged against the version it was measured on, and once a newer version exists its decisions
can no longer be applied (:class:`StaleReview`).

Flags linked to a proposal move with it:

- accept: linked *new* flags become *under review*, with a reason naming the proposal, and
  remember the status they came from (``Flag.status_before_review``);
- reject or reopen: the flags the acceptance moved go back to the status they came from; a flag
  triaged by hand since then keeps what the reviewer chose (triage forgets the old status);
- apply: linked flags become *addressed*, "Changed in version N: <proposal title>".

Every status change bumps the flag's ``Process.signals_revision`` (cached analyses and renders
are keyed on it), and a customer who left an e-mail address with consent gets one "you said,
we did" message queued per status change to *addressed* or *won't fix*.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow import model as engine
from workflow.adapters import tables as t
from workflow.errors import ModelError
from workflow.proposals import Proposal, ProposalConflict, apply_proposals
from workflow.render import Renderer
from workflow.services import audit
from workflow.services.analysis_cache import AnalysisCache
from workflow.services.errors import Forbidden, InvalidInput, NotFound, ServiceError
from workflow.services.outbox import queue_message
from workflow.services.processes import StepUrl, save_version
from workflow.services.review_analysis import SIMULATION_RUNS, OrgAnalysis, find_proposal
from workflow.services.words import REVIEW_STATUS_WORDS, STATUS_WORDS, customer_phrase
from workflow.vocabulary import FlagSource, FlagStatus

__all__ = [
    "COMMENTERS",
    "DECIDERS",
    "MAX_COMMENT",
    "MAX_REASON",
    "REASON_REQUIRED",
    "ApplyResult",
    "StaleReview",
    "accepted_reviews",
    "add_comment",
    "apply_accepted",
    "decide",
    "link_flag",
    "review_for_link",
    "reviews_of",
    "set_flag_status",
    "wants_reply",
]

#: Roles that decide proposals, apply them and triage flags; owners read and comment.
DECIDERS = ("reviewer", "admin")
COMMENTERS = ("reviewer", "admin", "owner")
MAX_REASON = 2000
MAX_COMMENT = 4000

#: Reasons the triage form needs before a flag may take the status.
REASON_REQUIRED = (FlagStatus.ADDRESSED.value, FlagStatus.WONT_FIX.value)


class StaleReview(ServiceError):
    """The decision was made on a version that is no longer the current one."""

    def __init__(self, reviewed: int, current: int) -> None:
        super().__init__(
            f"This was reviewed on version {reviewed}, but the process is now at version "
            f"{current}. Proposals of version {reviewed} can no longer be decided or applied: "
            f"review the proposals of version {current} instead."
        )
        self.reviewed = reviewed
        self.current = current


def _require(actor: t.User, roles: Sequence[str], action: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"Your role cannot {action}.")


def _bump(session: Session, process_ids: Iterable[int]) -> None:
    ids = sorted(set(process_ids))
    if ids:
        session.execute(
            update(t.Process)
            .where(t.Process.id.in_(ids))
            .values(signals_revision=t.Process.signals_revision + 1)
            .execution_options(synchronize_session=False)
        )
        for row in session.identity_map.values():
            if isinstance(row, t.Process) and row.id in ids:
                session.expire(row, ["signals_revision"])


# --- you said, we did ---------------------------------------------------------------------


def _changes_path(token: str | None) -> str:
    return f"/j/{token}/changes" if token else ""


def _reply_body(flag: t.Flag, journey: t.Process, site_url: str) -> str:
    said = customer_phrase(flag.category)
    category = said[:1].lower() + said[1:]
    reported = flag.text.strip() or f"(no words, just the category: {category})"
    if flag.status == FlagStatus.ADDRESSED.value:
        did = f"We changed how this works.\n\n  {flag.status_reason.strip()}"
    else:
        did = (
            "We looked into it carefully and decided not to change this step for now:\n\n"
            f"  {flag.status_reason.strip()}"
        )
    lines = [
        "Hello,",
        "",
        f'On {flag.created_at:%d %B %Y} you told us that "{flag.step_name or flag.step_id}" '
        f"in {journey.name} was hard ({category}). You wrote:",
        "",
        "  " + reported.replace("\n", "\n  "),
        "",
        did,
        "",
    ]
    path = _changes_path(journey.public_token)
    if path:
        lines += [
            "Everything we changed after listening to customers is listed here:",
            f"  {site_url.rstrip('/')}{path}",
            "",
        ]
    lines += [
        "Thank you for telling us. You get this message because you asked to hear what "
        "happened with your report; we only write when its status changes.",
    ]
    return "\n".join(lines)


def wants_reply(flag: t.Flag) -> bool:
    """A customer who left an address and agreed to be told what changed."""
    return bool(
        flag.source == FlagSource.CUSTOMER.value and flag.contact_email and flag.contact_consent
    )


def _queue_reply(session: Session, flag: t.Flag, site_url: str) -> bool:
    """Queue "you said, we did" for a customer who asked for it; True when queued."""
    if not (wants_reply(flag) and flag.status in REASON_REQUIRED):
        return False
    journey = session.get(t.Process, flag.process_id)
    if journey is None:
        return False
    subject = f"You said, we did: {journey.name}"
    queue_message(
        session,
        flag.org_id,
        flag.contact_email,
        subject,
        _reply_body(flag, journey, site_url),
        flag.id,
    )
    return True


# --- flag status --------------------------------------------------------------------------


def _set_status(session: Session, flag: t.Flag, status: str, reason: str, site_url: str) -> bool:
    """Move one flag; True when a reply was queued. The caller bumps the revision."""
    changed = flag.status != status
    flag.status = status
    flag.status_reason = reason
    flag.status_before_review = None
    flag.updated_at = t.utcnow()
    return changed and _queue_reply(session, flag, site_url)


def set_flag_status(
    session: Session, actor: t.User, flag: t.Flag, status: str, reason: str, *, site_url: str = ""
) -> bool:
    """Triage a flag by hand. Returns whether a "you said, we did" message was queued.

    Addressed and won't fix need a reason: it is what the person who flagged reads.
    """
    _require(actor, DECIDERS, "triage flags")
    if status not in STATUS_WORDS:
        raise InvalidInput("Choose one of the statuses listed.", "status")
    reason = (reason or "").strip()
    if status in REASON_REQUIRED and not reason:
        raise InvalidInput(
            f"Say why the flag is {STATUS_WORDS[status]}: the person who raised it reads this.",
            "reason",
        )
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Keep the reason under {MAX_REASON} characters.", "reason")
    _record(
        session,
        actor,
        flag,
        "flag.status_set",
        f"Set the flag on {flag.step_name or flag.step_id} to {STATUS_WORDS[status]}",
        {
            "old_status": flag.status,
            "new_status": status,
            "reason_changed": reason != flag.status_reason,
        },
    )
    if flag.status == status and flag.status_reason == reason:
        # Nothing the flagger reads changes, but the reviewer has now decided this status.
        flag.status_before_review = None
        session.flush()
        return False
    queued = _set_status(session, flag, status, reason, site_url)
    _bump(session, [flag.process_id])
    session.flush()
    return queued


def _record(
    session: Session,
    actor: t.User,
    subject: t.Flag | t.ProposalReview,
    action: str,
    summary: str,
    details: dict[str, object],
) -> None:
    """Record a decision on a flag or a proposal in the audit trail."""
    is_flag = isinstance(subject, t.Flag)
    audit.record(
        session,
        org_id=subject.org_id,
        actor_id=actor.id,
        action=action,
        subject_kind="flag" if is_flag else "proposal",
        subject_id=subject.id if is_flag else subject.proposal_key,
        process_id=subject.process_id,
        summary=summary,
        details=details if is_flag else {"version": subject.version_number, **details},
    )


def _accepted_reason(review: t.ProposalReview) -> str:
    return f"The improvement team accepted a change for this: {review.title}"


def _move_for_acceptance(flag: t.Flag, review: t.ProposalReview) -> None:
    """Take a flag under review for an accepted proposal, remembering where it came from."""
    flag.status_before_review = flag.status
    flag.status, flag.status_reason = FlagStatus.UNDER_REVIEW.value, _accepted_reason(review)
    flag.updated_at = t.utcnow()


def _undo_acceptance(flag: t.Flag) -> bool:
    """Put a flag an acceptance moved back to its earlier status; False (and nothing done) when
    the acceptance did not move it or it was triaged by hand since."""
    if flag.status_before_review is None:
        return False
    flag.status, flag.status_reason = flag.status_before_review, ""
    flag.status_before_review = None
    flag.updated_at = t.utcnow()
    return True


def link_flag(
    session: Session, actor: t.User, flag: t.Flag, review: t.ProposalReview | None
) -> None:
    """Link the flag to the proposal that addresses it (None unlinks it).

    A new flag linked to an accepted proposal goes under review at once; unlinking a flag the
    acceptance moved puts it back to its earlier status.
    """
    _require(actor, DECIDERS, "link flags to proposals")
    previous = session.get(t.ProposalReview, flag.review_id) if flag.review_id else None
    if review is not None and review.status not in ("open", "accepted"):
        raise InvalidInput(
            f"That proposal is {REVIEW_STATUS_WORDS[review.status]}; link flags to proposals "
            "still open or accepted.",
            "proposal",
        )
    leaving = previous is not None and (review is None or review.id != previous.id)
    step = flag.step_name or flag.step_id
    if review is not None:
        _record(
            session,
            actor,
            flag,
            "flag.linked",
            f"Linked the flag on {step} to the proposal “{review.title}”",
            {"proposal": review.proposal_key, "version": review.version_number},
        )
    elif previous is not None:
        _record(
            session,
            actor,
            flag,
            "flag.unlinked",
            f"Unlinked the flag on {step} from the proposal “{previous.title}”",
            {"proposal": previous.proposal_key, "version": previous.version_number},
        )
    if leaving and _undo_acceptance(flag):
        _bump(session, [flag.process_id])
    flag.review_id = review.id if review is not None else None
    flag.updated_at = t.utcnow()
    if review is not None and review.status == "accepted" and flag.status == FlagStatus.NEW:
        _move_for_acceptance(flag, review)
        _bump(session, [flag.process_id])
    session.flush()


# --- proposals and decisions --------------------------------------------------------------


def _review_row(
    session: Session, row: t.Process, version_number: int, proposal: Proposal
) -> t.ProposalReview:
    """The decision row of this proposal on this version, created on first use."""
    query = select(t.ProposalReview).where(
        t.ProposalReview.process_id == row.id,
        t.ProposalReview.version_number == version_number,
        t.ProposalReview.proposal_key == proposal.id,
    )
    found = session.scalar(query)
    if found is not None:
        return found
    created = t.ProposalReview(
        org_id=row.org_id,
        process_id=row.id,
        version_number=version_number,
        proposal_key=proposal.id[:300],
        title=proposal.title[:500],
        rule=proposal.rule[:100],
        targets=",".join(proposal.targets),
        status="open",
    )
    try:
        with session.begin_nested():
            session.add(created)
    except IntegrityError:
        # Someone else created it a moment ago: use theirs.
        found = session.scalar(query)
        if found is None:
            raise
        return found
    return created


def reviews_of(
    session: Session, row: t.Process, version_number: int
) -> dict[str, t.ProposalReview]:
    return {
        r.proposal_key: r
        for r in session.scalars(
            select(t.ProposalReview).where(
                t.ProposalReview.process_id == row.id,
                t.ProposalReview.version_number == version_number,
            )
        )
    }


def review_for_link(
    session: Session,
    org: t.Organisation,
    row: t.Process,
    key: str,
    cache: AnalysisCache,
    *,
    version_number: int,
    simulation_runs: int = SIMULATION_RUNS,
) -> t.ProposalReview | None:
    """The decision row a flag can be linked to (created on first use); None for no key."""
    if not key:
        return None
    if version_number != row.current_version:
        raise StaleReview(version_number, row.current_version)
    _, proposal = find_proposal(session, org, row, key, cache, simulation_runs)
    if proposal is None:
        raise InvalidInput("That proposal is not proposed for this version.", "proposal")
    return _review_row(session, row, version_number, proposal)


def add_comment(
    session: Session,
    actor: t.User,
    org: t.Organisation,
    row: t.Process,
    key: str,
    text: str,
    cache: AnalysisCache,
    *,
    version_number: int,
    simulation_runs: int = SIMULATION_RUNS,
) -> t.Comment:
    """A comment on a proposal; reviewers and owners discuss before the decision."""
    _require(actor, COMMENTERS, "comment on proposals")
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Write a comment first.", "text")
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"Keep comments under {MAX_COMMENT} characters.", "text")
    review = reviews_of(session, row, version_number).get(key)
    if review is None:
        if version_number != row.current_version:
            raise StaleReview(version_number, row.current_version)
        _, proposal = find_proposal(session, org, row, key, cache, simulation_runs)
        if proposal is None:
            raise NotFound("That proposal is not proposed for this version.")
        review = _review_row(session, row, version_number, proposal)
    comment = t.Comment(review_id=review.id, author_id=actor.id, text=text)
    session.add(comment)
    session.flush()
    _record(
        session,
        actor,
        review,
        "proposal.commented",
        f"{row.name}: commented on “{review.title}”",
        {"comment": comment.id},
    )
    return comment


def decide(
    session: Session,
    actor: t.User,
    org: t.Organisation,
    row: t.Process,
    key: str,
    decision: str,
    reason: str,
    cache: AnalysisCache,
    *,
    version_number: int,
    simulation_runs: int = SIMULATION_RUNS,
) -> t.ProposalReview:
    """Accept, reject (with a reason) or reopen a proposal of the current version."""
    _require(actor, DECIDERS, "decide on proposals")
    if decision not in ("accept", "reject", "reopen"):
        raise InvalidInput("Choose accept, reject or reopen.", "decision")
    reason = (reason or "").strip()
    if decision == "reject" and not reason:
        raise InvalidInput("Say why the proposal is rejected.", "reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Keep the reason under {MAX_REASON} characters.", "reason")
    if version_number != row.current_version:
        raise StaleReview(version_number, row.current_version)
    _, proposal = find_proposal(session, org, row, key, cache, simulation_runs)
    if proposal is None:
        raise NotFound("That proposal is not proposed for this version.")
    review = _review_row(session, row, version_number, proposal)
    target = {"accept": "accepted", "reject": "rejected", "reopen": "open"}[decision]
    if review.status == "applied":
        raise InvalidInput(
            f"This proposal was applied in version {review.applied_version}; it cannot change.",
            "decision",
        )
    if review.status == target:
        raise InvalidInput(f"This proposal is already {REVIEW_STATUS_WORDS[target]}.", "decision")
    _record(
        session,
        actor,
        review,
        f"proposal.{target if target != 'open' else 'reopened'}",
        f"{row.name}: {decision}ed “{review.title}”",
        {"old_status": review.status, "new_status": target},
    )
    linked = list(session.scalars(select(t.Flag).where(t.Flag.review_id == review.id)))
    moved: list[int] = []
    if review.status == "accepted":
        for flag in linked:
            if _undo_acceptance(flag):
                moved.append(flag.process_id)
    review.status = target
    review.reason = reason if target != "open" else ""
    review.decided_by_id = actor.id if target != "open" else None
    review.decided_at = t.utcnow() if target != "open" else None
    if target == "accepted":
        for flag in linked:
            if flag.status == FlagStatus.NEW.value:
                _move_for_acceptance(flag, review)
                moved.append(flag.process_id)
    _bump(session, moved)
    session.flush()
    return review


@dataclass(frozen=True)
class ApplyResult:
    version: t.ProcessVersion
    applied: list[t.ProposalReview]
    flags_addressed: int
    replies_queued: int


def accepted_reviews(
    session: Session, row: t.Process, version_number: int
) -> list[t.ProposalReview]:
    return list(
        session.scalars(
            select(t.ProposalReview)
            .where(
                t.ProposalReview.process_id == row.id,
                t.ProposalReview.version_number == version_number,
                t.ProposalReview.status == "accepted",
            )
            .order_by(t.ProposalReview.id)
        )
    )


def _follow_merges(session: Session, row: t.Process, process: engine.Process) -> None:
    """Point flags and links of steps merged into another at the step that absorbed them."""
    merged = {old: step.id for step in process.steps() for old in step.merged_from}
    merged = {old: new for old, new in merged.items() if old not in process and old != new}
    if not merged:
        return
    session.flush()
    for old, new in merged.items():
        session.execute(
            update(t.Flag)
            .where(t.Flag.process_id == row.id, t.Flag.step_id == old)
            .values(step_id=new)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(t.CesAnswer)
            .where(t.CesAnswer.process_id == row.id, t.CesAnswer.step_id == old)
            .values(step_id=new)
            .execution_options(synchronize_session=False)
        )
    links = list(
        session.scalars(
            select(t.StepLink).where(
                or_(t.StepLink.journey_id == row.id, t.StepLink.process_id == row.id)
            )
        )
    )
    kept = set()
    moved = []
    for link in links:
        journey_step, step = link.journey_step, link.step
        if link.journey_id == row.id:
            journey_step = merged.get(journey_step, journey_step)
        if link.process_id == row.id:
            step = merged.get(step, step)
        key = (link.org_id, link.journey_id, journey_step, link.process_id, step)
        if (journey_step, step) == (link.journey_step, link.step):
            kept.add(key)
        else:
            moved.append(key)
            session.delete(link)
    session.flush()
    for key in dict.fromkeys(moved):
        if key not in kept:
            org_id, journey_id, journey_step, process_id, step = key
            session.add(
                t.StepLink(
                    org_id=org_id,
                    journey_id=journey_id,
                    journey_step=journey_step,
                    process_id=process_id,
                    step=step,
                )
            )
    session.flush()
    session.expire_all()


def apply_accepted(
    session: Session,
    actor: t.User,
    org: t.Organisation,
    row: t.Process,
    cache: AnalysisCache,
    *,
    version_number: int,
    renderer: Renderer | None = None,
    step_url: StepUrl | None = None,
    site_url: str = "",
    simulation_runs: int = SIMULATION_RUNS,
) -> ApplyResult:
    """Apply the accepted proposals of ``version_number`` into a new version.

    Refused when a newer version exists (the proposals were measured on the old one), when
    an accepted proposal is no longer proposed, and when the accepted proposals cannot be
    combined; nothing is saved then.
    """
    _require(actor, DECIDERS, "apply proposals")
    if version_number != row.current_version:
        raise StaleReview(version_number, row.current_version)
    reviews = accepted_reviews(session, row, version_number)
    if not reviews:
        raise InvalidInput("No proposal of this version is accepted yet: accept one first.")
    proposals: list[Proposal] = []
    missing: list[str] = []
    measured: OrgAnalysis | None = None
    for review in reviews:
        measured, proposal = find_proposal(
            session, org, row, review.proposal_key, cache, simulation_runs
        )
        if proposal is None:
            missing.append(review.title)
        else:
            proposals.append(proposal)
    if missing:
        raise InvalidInput(
            "These accepted proposals are no longer proposed for this version, so they cannot "
            "be applied: " + "; ".join(missing) + ". Reopen or reject them, then apply again."
        )
    key = measured.keys.get(row.id) if measured else None
    if measured is None or measured.analysis is None or key is None:
        raise InvalidInput("This version cannot be measured, so nothing can be applied.")
    process = measured.analysis.model.process(key)
    try:
        changed = apply_proposals(process, proposals)
    except ProposalConflict as exc:
        raise InvalidInput(
            f"The accepted proposals cannot be applied together: {exc}. Reopen or reject one "
            "of them and apply again."
        ) from None
    except ModelError as exc:
        raise InvalidInput(
            "Together the accepted proposals would leave the process broken; reopen or reject "
            "one of them and apply again.",
            problems=exc.lines(),
        ) from None
    titles = "; ".join(r.title for r in reviews)
    options = {"step_url": step_url} if step_url else {}
    saved = save_version(
        session,
        row,
        changed,
        author_id=actor.id,
        summary=f"Applied {len(reviews)} accepted proposal{'s' if len(reviews) > 1 else ''}: "
        + titles,
        base_version=version_number,
        renderer=renderer,
        audit_action="proposal.applied",
        audit_details={"proposals": [r.proposal_key for r in reviews]},
        **options,
    )
    _follow_merges(session, row, changed)
    now = t.utcnow()
    addressed = queued = 0
    bumped: list[int] = [row.id]
    for review in reviews:
        review.status = "applied"
        review.applied_version = saved.number
        review.decided_by_id = actor.id
        review.decided_at = now
        for flag in session.scalars(select(t.Flag).where(t.Flag.review_id == review.id)):
            if flag.status == FlagStatus.ADDRESSED.value:
                continue
            reason = f"Changed in version {saved.number}: {review.title}"
            queued += _set_status(session, flag, FlagStatus.ADDRESSED.value, reason, site_url)
            addressed += 1
            bumped.append(flag.process_id)
    _bump(session, bumped)
    session.flush()
    return ApplyResult(saved, reviews, addressed, queued)
