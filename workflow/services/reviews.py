"""The improvement team's review of a process, and closing the loop with the people who flagged.

Reviewers read an analysis of the current version (metrics, hotspots, proposals), triage flags,
accept or reject proposals and apply the accepted ones into a new version. Decisions live in
``ProposalReview`` rows keyed by (process, version number, proposal id): a proposal is always
judged against the version it was measured on, and once a newer version exists its decisions
can no longer be applied (:class:`StaleReview`).

Flags linked to a proposal move with it:

- accept: linked *new* flags become *under review*, with a reason naming the proposal;
- reject or reopen: the flags the acceptance moved go back to *new* (a flag triaged by hand
  since then keeps its status: its reason no longer is the acceptance's);
- apply: linked flags become *addressed*, "Changed in version N: <proposal title>".

Every status change bumps the flag's ``Process.signals_revision`` (cached analyses and renders
are keyed on it), and a customer who left an e-mail address with consent gets one "you said,
we did" message queued per status change to *addressed* or *won't fix*.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow import model as engine
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.analysis import Analysis, ProcessAnalysis, analyze
from workflow.errors import ModelError
from workflow.metrics import Metrics
from workflow.proposals import DEFAULT_LIMIT, Proposal, ProposalConflict, apply_proposals
from workflow.render import Renderer
from workflow.report import format_minutes
from workflow.scoring import StepScore
from workflow.services.analysis_cache import AnalysisCache, org_state
from workflow.services.errors import Forbidden, InvalidInput, NotFound, ServiceError
from workflow.services.outbox import queue_message
from workflow.services.processes import StepUrl, save_version
from workflow.vocabulary import FlagCategory, FlagSource, FlagStatus

__all__ = [
    "CATEGORY_WORDS",
    "DECIDERS",
    "FLAG_FILTERS",
    "REVIEW_STATUS_WORDS",
    "SIMULATION_RUNS",
    "STATUS_WORDS",
    "ApplyResult",
    "Dashboard",
    "FlagItem",
    "FlagPage",
    "MetricRow",
    "OrgAnalysis",
    "ProcessSummary",
    "ProposalView",
    "StaleReview",
    "accepted_reviews",
    "add_comment",
    "apply_accepted",
    "dashboard",
    "decide",
    "find_flag",
    "flag_page",
    "link_flag",
    "linked_flags",
    "metric_rows",
    "org_analysis",
    "process_summaries",
    "proposal_view",
    "review_for_link",
    "reviews_of",
    "set_flag_status",
    "wants_reply",
]

#: Proposals are measured with this many simulated cases: enough for p50/p90, fast on a page.
SIMULATION_RUNS = 500
#: Roles that decide proposals, apply them and triage flags; owners read and comment.
DECIDERS = ("reviewer", "admin")
COMMENTERS = ("reviewer", "admin", "owner")
MAX_REASON = 2000
MAX_COMMENT = 4000
FLAG_PAGE_SIZE = 25
#: Which flags the triage list shows.
FLAG_FILTERS = {
    "open": (FlagStatus.NEW.value, FlagStatus.UNDER_REVIEW.value),
    "closed": (FlagStatus.ADDRESSED.value, FlagStatus.WONT_FIX.value),
    "all": tuple(s.value for s in FlagStatus),
}

STATUS_WORDS = {
    FlagStatus.NEW.value: "new",
    FlagStatus.UNDER_REVIEW.value: "under review",
    FlagStatus.ADDRESSED.value: "addressed",
    FlagStatus.WONT_FIX.value: "won't fix",
}
REVIEW_STATUS_WORDS = {
    "open": "not decided",
    "accepted": "accepted",
    "rejected": "rejected",
    "applied": "applied",
}
CATEGORY_WORDS = {
    FlagCategory.DEFECTS.value: "errors and rework",
    FlagCategory.OVERPRODUCTION.value: "work nobody needs",
    FlagCategory.WAITING.value: "waiting",
    FlagCategory.NON_UTILISED_TALENT.value: "skills not used",
    FlagCategory.TRANSPORTATION.value: "handoffs",
    FlagCategory.INVENTORY.value: "piles and queues",
    FlagCategory.MOTION.value: "searching and moving around",
    FlagCategory.EXTRA_PROCESSING.value: "extra work",
    FlagCategory.ASKED_TWICE.value: "asked twice",
    FlagCategory.UNCLEAR.value: "unclear",
    FlagCategory.POINTLESS.value: "pointless",
    FlagCategory.TOO_MANY_APPROVALS.value: "too many approvals",
    FlagCategory.CHASING_STATUS.value: "had to chase",
    FlagCategory.SYSTEM_TROUBLE.value: "system trouble",
}
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


# --- analysis -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgAnalysis:
    """An analysis of the organisation's valid current processes and what it left out."""

    analysis: Analysis | None
    #: Engine process id -> process row id, and back.
    row_ids: dict[str, int]
    keys: dict[int, str]
    #: Row id -> why the process could not be measured (a loop that never ends, ...).
    excluded: dict[int, str]

    def process(self, row_id: int) -> ProcessAnalysis | None:
        key = self.keys.get(row_id)
        if self.analysis is None or key is None:
            return None
        return self.analysis.process(key)

    def proposals(self, row_id: int) -> list[Proposal]:
        key = self.keys.get(row_id)
        if self.analysis is None or key is None:
            return []
        return [p for p in self.analysis.proposals if p.process == key]


def _without(model: engine.ProcessModel, keys: set[str]) -> engine.ProcessModel:
    return engine.ProcessModel(
        name=model.name,
        processes=tuple(p for p in model.processes if p.id not in keys),
        links=tuple(
            link for link in model.links if link.journey not in keys and link.process not in keys
        ),
    )


def _analyse_org(
    session: Session, org: t.Organisation, simulation_runs: int, limit: int
) -> OrgAnalysis:
    model, rows = repo.build_model(session, org)
    row_ids = {key: row.id for key, row in rows.items()}
    excluded: dict[int, str] = {}
    try:
        result = analyze(model, simulation_runs=simulation_runs, limit=limit)
    except ModelError:
        # One process with figures beyond trust must not hide every other dashboard.
        bad: set[str] = set()
        for process in model.processes:
            alone = engine.ProcessModel(name=model.name, processes=(process,))
            try:
                analyze(alone, simulation_runs=0, limit=1)
            except ModelError as exc:
                bad.add(process.id)
                excluded[row_ids[process.id]] = "; ".join(exc.lines())
        try:
            result = analyze(_without(model, bad), simulation_runs=simulation_runs, limit=limit)
        except ModelError as exc:
            result = None
            for key in row_ids:
                excluded.setdefault(row_ids[key], "; ".join(exc.lines()))
    keys = {
        row_id: key
        for key, row_id in row_ids.items()
        if row_id not in excluded and result is not None
    }
    return OrgAnalysis(result, row_ids, keys, excluded)


def org_analysis(
    session: Session,
    org: t.Organisation,
    cache: AnalysisCache,
    *,
    simulation_runs: int = SIMULATION_RUNS,
    limit: int = DEFAULT_LIMIT,
) -> OrgAnalysis:
    """The organisation's analysis, computed once per state of its processes and signals."""
    key = ("org", org_state(session, org), simulation_runs, limit)
    return cache.get(key, lambda: _analyse_org(session, org, simulation_runs, limit))


def _find_proposal(
    session: Session,
    org: t.Organisation,
    row: t.Process,
    key: str,
    cache: AnalysisCache,
    simulation_runs: int,
) -> tuple[OrgAnalysis, Proposal | None]:
    """A proposal of the current version: among the best measured ones, else among all.

    The dashboard measures the best candidates only; a proposal accepted earlier may have
    dropped below that cut after flags changed, so every candidate is measured before saying
    it is gone.
    """
    found = org_analysis(session, org, cache, simulation_runs=simulation_runs)
    for proposal in found.proposals(row.id):
        if proposal.id == key:
            return found, proposal
    everything = org_analysis(session, org, cache, simulation_runs=0, limit=0)
    for proposal in everything.proposals(row.id):
        if proposal.id == key:
            return found, proposal
    return found, None


# --- the review index -------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessSummary:
    row: t.Process
    open_staff: int
    open_customers: int
    #: Name of the step to look at first, and how it was chosen ("priority" or "flags").
    top_step: str
    top_by: str
    #: Proposals of the current version, when an analysis of it is at hand.
    proposals: int | None
    decisions: dict[str, int]
    has_problems: bool

    @property
    def open_flags(self) -> int:
        return self.open_staff + self.open_customers


def process_summaries(
    session: Session,
    org: t.Organisation,
    cache: AnalysisCache,
    *,
    simulation_runs: int = SIMULATION_RUNS,
) -> list[ProcessSummary]:
    """Every process of the organisation with counts read from the database.

    Nothing is analysed here: the top step and the proposal count come from an analysis only
    when one of the organisation's current state is already cached (a dashboard was opened);
    otherwise the step with the most open flag severity stands in.
    """
    rows = repo.org_processes(session, org.id)
    open_statuses = FLAG_FILTERS["open"]
    counts: dict[int, Counter] = defaultdict(Counter)
    for process_id, source, count in session.execute(
        select(t.Flag.process_id, t.Flag.source, func.count())
        .where(t.Flag.org_id == org.id, t.Flag.status.in_(open_statuses))
        .group_by(t.Flag.process_id, t.Flag.source)
    ):
        counts[process_id][source] = count
    flagged: dict[int, tuple[int, str]] = {}
    for process_id, step_name, weight in session.execute(
        select(t.Flag.process_id, t.Flag.step_name, func.sum(t.Flag.severity))
        .where(t.Flag.org_id == org.id, t.Flag.status.in_(open_statuses))
        .group_by(t.Flag.process_id, t.Flag.step_id, t.Flag.step_name)
    ):
        if process_id not in flagged or (weight, step_name) > flagged[process_id]:
            flagged[process_id] = (weight, step_name)
    decisions: dict[int, Counter] = defaultdict(Counter)
    for process_id, status, count in session.execute(
        select(t.ProposalReview.process_id, t.ProposalReview.status, func.count())
        .join(t.Process, t.Process.id == t.ProposalReview.process_id)
        .where(
            t.ProposalReview.org_id == org.id,
            t.ProposalReview.version_number == t.Process.current_version,
        )
        .group_by(t.ProposalReview.process_id, t.ProposalReview.status)
    ):
        decisions[process_id][status] = count
    with_problems = set(
        session.scalars(
            select(t.ProcessVersion.process_id)
            .join(t.Process, t.Process.id == t.ProcessVersion.process_id)
            .where(
                t.Process.org_id == org.id,
                t.ProcessVersion.number == t.Process.current_version,
                t.ProcessVersion.problems != "",
            )
        )
    )
    cached = cache.peek(("org", org_state(session, org), simulation_runs, DEFAULT_LIMIT))
    summaries = []
    for row in rows:
        top_step, top_by, proposals = "", "", None
        measured = cached.process(row.id) if cached else None
        if measured is not None:
            hotspots = measured.hotspots(1)
            if hotspots and hotspots[0].priority.value > 0:
                top_step, top_by = hotspots[0].name, "priority"
            proposals = len(cached.proposals(row.id))
        elif row.id in flagged:
            top_step, top_by = flagged[row.id][1], "flags"
        summaries.append(
            ProcessSummary(
                row=row,
                open_staff=counts[row.id][FlagSource.STAFF.value],
                open_customers=counts[row.id][FlagSource.CUSTOMER.value],
                top_step=top_step,
                top_by=top_by,
                proposals=proposals,
                decisions=dict(decisions[row.id]),
                has_problems=row.id in with_problems,
            )
        )
    summaries.sort(key=lambda s: (-s.open_flags, s.row.name.lower()))
    return summaries


# --- flags --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagItem:
    flag: t.Flag
    #: Where the flag sits when it is not on the reviewed process (a linked step elsewhere).
    elsewhere: str
    votes: int
    review: t.ProposalReview | None
    author: str


@dataclass(frozen=True)
class FlagPage:
    items: list[FlagItem]
    show: str
    page: int
    pages: int
    total: int
    counts: dict[str, int]

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _related_steps(session: Session, row: t.Process) -> list[tuple[int, str]]:
    """(process id, step id) of steps of other processes linked to this process's steps."""
    found = session.execute(
        select(t.StepLink.process_id, t.StepLink.step).where(t.StepLink.journey_id == row.id)
    ).all()
    found += session.execute(
        select(t.StepLink.journey_id, t.StepLink.journey_step).where(
            t.StepLink.process_id == row.id
        )
    ).all()
    return sorted({(p, s) for p, s in found if p != row.id})


def _related_condition(session: Session, row: t.Process):
    linked = [
        and_(t.Flag.process_id == process_id, t.Flag.step_id == step_id)
        for process_id, step_id in _related_steps(session, row)
    ]
    return and_(t.Flag.org_id == row.org_id, or_(t.Flag.process_id == row.id, *linked))


def _author_word(flag: t.Flag, author: t.User | None, viewer: t.User) -> str:
    if flag.source == FlagSource.CUSTOMER.value:
        return "a customer"
    if author is None:
        return "staff (anonymous)" if flag.anonymous else "staff"
    if flag.anonymous:
        return f"{author.name} (anonymous to others)" if viewer.role == "admin" else "anonymous"
    return author.name


def flag_page(
    session: Session, row: t.Process, viewer: t.User, *, show: str = "open", page: int = 1
) -> FlagPage:
    """Flags on the process and on steps linked to its steps, newest first, one page."""
    show = show if show in FLAG_FILTERS else "open"
    condition = _related_condition(session, row)
    counts = {
        name: session.scalar(
            select(func.count(t.Flag.id)).where(condition, t.Flag.status.in_(statuses))
        )
        or 0
        for name, statuses in FLAG_FILTERS.items()
    }
    total = counts[show]
    pages = max(1, -(-total // FLAG_PAGE_SIZE))
    page = min(max(1, page), pages)
    flags = list(
        session.scalars(
            select(t.Flag)
            .where(condition, t.Flag.status.in_(FLAG_FILTERS[show]))
            .order_by(t.Flag.created_at.desc(), t.Flag.id.desc())
            .offset((page - 1) * FLAG_PAGE_SIZE)
            .limit(FLAG_PAGE_SIZE)
        )
    )
    ids = [f.id for f in flags]
    votes = dict(
        session.execute(
            select(t.FlagVote.flag_id, func.count())
            .where(t.FlagVote.flag_id.in_(ids))
            .group_by(t.FlagVote.flag_id)
        ).all()
    )
    review_ids = {f.review_id for f in flags if f.review_id}
    reviews = {
        r.id: r
        for r in session.scalars(
            select(t.ProposalReview).where(t.ProposalReview.id.in_(review_ids))
        )
    }
    author_ids = {f.author_id for f in flags if f.author_id}
    authors = {u.id: u for u in session.scalars(select(t.User).where(t.User.id.in_(author_ids)))}
    names = {
        p.id: p.name
        for p in session.scalars(
            select(t.Process).where(t.Process.id.in_({f.process_id for f in flags}))
        )
    }
    items = [
        FlagItem(
            flag=f,
            elsewhere="" if f.process_id == row.id else names.get(f.process_id, ""),
            votes=votes.get(f.id, 0),
            review=reviews.get(f.review_id) if f.review_id else None,
            author=_author_word(f, authors.get(f.author_id) if f.author_id else None, viewer),
        )
        for f in flags
    ]
    return FlagPage(items, show, page, pages, total, counts)


def find_flag(session: Session, row: t.Process, flag_id: int) -> t.Flag:
    """A flag the dashboard of ``row`` lists (on the process or on a linked step)."""
    found = session.scalar(
        select(t.Flag).where(t.Flag.id == flag_id, _related_condition(session, row))
    )
    if found is None:
        raise NotFound("There is no such flag on this process.")
    return found


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


def _changes_path(token: str | None) -> str:
    return f"/j/{token}/changes" if token else ""


def _reply_body(flag: t.Flag, journey: t.Process, site_url: str) -> str:
    category = CATEGORY_WORDS.get(flag.category, flag.category.replace("_", " "))
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


def linked_flags(session: Session, review_ids: Sequence[int]) -> list[t.Flag]:
    if not review_ids:
        return []
    return list(
        session.scalars(
            select(t.Flag).where(t.Flag.review_id.in_(list(review_ids))).order_by(t.Flag.id)
        )
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


def _set_status(session: Session, flag: t.Flag, status: str, reason: str, site_url: str) -> bool:
    """Move one flag; True when a reply was queued. The caller bumps the revision."""
    changed = flag.status != status
    flag.status = status
    flag.status_reason = reason
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
    if flag.status == status and flag.status_reason == reason:
        return False
    queued = _set_status(session, flag, status, reason, site_url)
    _bump(session, [flag.process_id])
    session.flush()
    return queued


def _accepted_reason(review: t.ProposalReview) -> str:
    return f"The improvement team accepted a change for this: {review.title}"


def _moved_by_acceptance(flag: t.Flag, review: t.ProposalReview) -> bool:
    return flag.status == FlagStatus.UNDER_REVIEW.value and flag.status_reason == _accepted_reason(
        review
    )


def link_flag(
    session: Session, actor: t.User, flag: t.Flag, review: t.ProposalReview | None
) -> None:
    """Link the flag to the proposal that addresses it (None unlinks it).

    A new flag linked to an accepted proposal goes under review at once; unlinking a flag the
    acceptance moved puts it back to new.
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
    if leaving and _moved_by_acceptance(flag, previous):
        flag.status, flag.status_reason = FlagStatus.NEW.value, ""
        _bump(session, [flag.process_id])
    flag.review_id = review.id if review is not None else None
    flag.updated_at = t.utcnow()
    if review is not None and review.status == "accepted" and flag.status == "new":
        flag.status, flag.status_reason = FlagStatus.UNDER_REVIEW.value, _accepted_reason(review)
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
    _, proposal = _find_proposal(session, org, row, key, cache, simulation_runs)
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
        _, proposal = _find_proposal(session, org, row, key, cache, simulation_runs)
        if proposal is None:
            raise NotFound("That proposal is not proposed for this version.")
        review = _review_row(session, row, version_number, proposal)
    comment = t.Comment(review_id=review.id, author_id=actor.id, text=text)
    session.add(comment)
    session.flush()
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
    _, proposal = _find_proposal(session, org, row, key, cache, simulation_runs)
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
    linked = list(session.scalars(select(t.Flag).where(t.Flag.review_id == review.id)))
    moved: list[int] = []
    if review.status == "accepted":
        for flag in linked:
            if _moved_by_acceptance(flag, review):
                flag.status, flag.status_reason = FlagStatus.NEW.value, ""
                flag.updated_at = t.utcnow()
                moved.append(flag.process_id)
    review.status = target
    review.reason = reason if target != "open" else ""
    review.decided_by_id = actor.id if target != "open" else None
    review.decided_at = t.utcnow() if target != "open" else None
    if target == "accepted":
        for flag in linked:
            if flag.status == FlagStatus.NEW.value:
                flag.status, flag.status_reason = (
                    FlagStatus.UNDER_REVIEW.value,
                    _accepted_reason(review),
                )
                flag.updated_at = t.utcnow()
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
        measured, proposal = _find_proposal(
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


# --- what the pages show ------------------------------------------------------------------


@dataclass(frozen=True)
class MetricRow:
    label: str
    before: str
    after: str
    change: str
    #: "better", "worse" or "same".
    verdict: str


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


#: (label, attribute, formatter, whether higher is better)
METRICS = (
    ("Lead time per case", "lead_minutes", format_minutes, False),
    ("Touch time per case", "touch_minutes", format_minutes, False),
    ("Waiting per case", "lead_wait_minutes", format_minutes, False),
    ("Process cycle efficiency (VA touch / lead)", "pce", _percent, True),
    ("Flow efficiency (touch / lead)", "flow_efficiency", _percent, True),
    ("Handoffs per case", "handoffs", lambda v: f"{v:.2f}", False),
    ("Customer touchpoints per case", "customer_touchpoints", lambda v: f"{v:.2f}", False),
    ("Rolled complete & accurate", "rolled_pct_complete_accurate", lambda v: f"{v:.0f}%", True),
    ("Rework passes per case", "rework_passes", lambda v: f"{v:.2f}", False),
    ("Staff hours a year", "annual_hours", lambda v: f"{v:,.0f}", False),
    ("Customer hours a year", "annual_customer_hours", lambda v: f"{v:,.0f}", False),
    ("Cost a year", "annual_cost", lambda v: f"{v:,.0f}", False),
)


def metric_rows(before: Metrics, after: Metrics) -> list[MetricRow]:
    """Each headline metric before and after, the change, and whether it is an improvement."""
    rows = []
    for label, name, show, higher_is_better in METRICS:
        old, new = getattr(before, name), getattr(after, name)
        change = new - old
        if show(abs(change)) == show(0.0):
            verdict, text = "same", "no change"
        else:
            better = (change > 0) == higher_is_better
            verdict = "better" if better else "worse"
            sign = "+" if change > 0 else "−"
            text = f"{sign}{show(abs(change))}"
        rows.append(MetricRow(label, show(old), show(new), text, verdict))
    return rows


@dataclass(frozen=True)
class Hotspot:
    score: StepScore
    lane: str
    reasons: list[str]

    @property
    def agree(self) -> bool:
        return self.score.agreement


@dataclass
class Dashboard:
    row: t.Process
    version: t.ProcessVersion
    #: Shape problems of the current version (then nothing is measured).
    problems: list[str] = field(default_factory=list)
    #: Why a valid version could still not be measured.
    unmeasured: str = ""
    process: engine.Process | None = None
    result: ProcessAnalysis | None = None
    hotspots: list[Hotspot] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    reviews: dict[str, t.ProposalReview] = field(default_factory=dict)
    earlier: list[t.ProposalReview] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return self.result is not None

    @property
    def accepted(self) -> list[t.ProposalReview]:
        return [r for r in self.reviews.values() if r.status == "accepted"]

    def review_status(self, proposal: Proposal) -> str:
        review = self.reviews.get(proposal.id)
        return review.status if review else "open"


def dashboard(
    session: Session,
    org: t.Organisation,
    row: t.Process,
    cache: AnalysisCache,
    *,
    simulation_runs: int = SIMULATION_RUNS,
) -> Dashboard:
    """What the review dashboard of ``row`` shows about its current version."""
    version = repo.current_version(session, row)
    board = Dashboard(row=row, version=version)
    board.reviews = reviews_of(session, row, version.number)
    board.earlier = list(
        session.scalars(
            select(t.ProposalReview)
            .where(
                t.ProposalReview.process_id == row.id,
                t.ProposalReview.version_number < version.number,
                t.ProposalReview.status != "open",
            )
            .order_by(t.ProposalReview.version_number.desc(), t.ProposalReview.id.desc())
            .limit(20)
        )
    )
    parsed = repo.parse_document(version.document)
    if not parsed.valid:
        board.problems = [str(p) for p in parsed.problems]
        return board
    measured = org_analysis(session, org, cache, simulation_runs=simulation_runs)
    result = measured.process(row.id)
    if result is None:
        board.unmeasured = measured.excluded.get(
            row.id, "This process is not part of the organisation's analysis."
        )
        return board
    board.process = result.process
    board.result = result
    board.hotspots = [
        Hotspot(score, result.process.step(score.step).lane, score.reasons())
        for score in result.hotspots()
        if score.priority.value > 0
    ]
    board.proposals = measured.proposals(row.id)
    return board


@dataclass
class ProposalView:
    row: t.Process
    version_number: int
    proposal: Proposal | None
    process: engine.Process | None
    review: t.ProposalReview | None
    comments: list[tuple[t.Comment, str]]
    flags: list[t.Flag]
    metrics: list[MetricRow]
    #: Place among this process's proposals (1 is the best), 0 when not measured.
    position: int = 0

    @property
    def status(self) -> str:
        return self.review.status if self.review else "open"

    @property
    def current(self) -> bool:
        return self.version_number == self.row.current_version


def proposal_view(
    session: Session,
    org: t.Organisation,
    row: t.Process,
    key: str,
    cache: AnalysisCache,
    *,
    version_number: int | None = None,
    simulation_runs: int = SIMULATION_RUNS,
) -> ProposalView:
    """A proposal of the current version (measured), or the record of one on an older version."""
    number = row.current_version if version_number is None else version_number
    review = reviews_of(session, row, number).get(key)
    proposal = process = None
    position = 0
    if number == row.current_version:
        measured, proposal = _find_proposal(session, org, row, key, cache, simulation_runs)
        if proposal is not None:
            process = measured.analysis.model.process(proposal.process)
            ranked = [p.id for p in measured.proposals(row.id)]
            position = ranked.index(proposal.id) + 1 if proposal.id in ranked else 0
    if proposal is None and review is None:
        raise NotFound("There is no such proposal for this process.")
    comments: list[tuple[t.Comment, str]] = []
    flags: list[t.Flag] = []
    if review is not None:
        rows = session.execute(
            select(t.Comment, t.User.name)
            .outerjoin(t.User, t.User.id == t.Comment.author_id)
            .where(t.Comment.review_id == review.id)
            .order_by(t.Comment.created_at, t.Comment.id)
        ).all()
        comments = [(c, name or "a former user") for c, name in rows]
        flags = list(
            session.scalars(select(t.Flag).where(t.Flag.review_id == review.id).order_by(t.Flag.id))
        )
    deltas = metric_rows(proposal.before, proposal.after) if proposal else []
    return ProposalView(row, number, proposal, process, review, comments, flags, deltas, position)
