"""What the review pages read: the index of processes, a process's dashboard (hotspots,
proposals and their decisions), one proposal with its before/after figures, comments and
linked flags, and the flags triage list. Nothing here changes data.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select, tuple_, union_all
from sqlalchemy.orm import Session

from workflow import model as engine
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.analysis import ProcessAnalysis
from workflow.metrics import Metrics
from workflow.proposals import Proposal
from workflow.report import format_minutes
from workflow.scoring import StepScore
from workflow.services.analysis_cache import AnalysisCache
from workflow.services.errors import NotFound
from workflow.services.paging import PageLinks, window
from workflow.services.review_analysis import (
    EXACT,
    SIMULATION_RUNS,
    Freshness,
    cached_org_analysis,
    find_proposal,
    org_analysis,
)
from workflow.services.reviews import reviews_of
from workflow.vocabulary import FlagSource, FlagStatus

__all__ = [
    "FLAG_FILTERS",
    "FLAG_PAGE_SIZE",
    "Dashboard",
    "FlagItem",
    "FlagPage",
    "Hotspot",
    "MetricRow",
    "ProcessSummary",
    "ProposalView",
    "dashboard",
    "find_flag",
    "flag_page",
    "linked_flags",
    "metric_rows",
    "process_summaries",
    "proposal_view",
]

FLAG_PAGE_SIZE = 25
#: Which flags the triage list shows.
FLAG_FILTERS = {
    "open": (FlagStatus.NEW.value, FlagStatus.UNDER_REVIEW.value),
    "closed": (FlagStatus.ADDRESSED.value, FlagStatus.WONT_FIX.value),
    "all": tuple(s.value for s in FlagStatus),
}


# --- the review index ---------------------------------------------------------------------


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
    freshness: Freshness = EXACT,
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
    cached = cached_org_analysis(
        session, org, cache, simulation_runs=simulation_runs, freshness=freshness
    )
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
class FlagPage(PageLinks):
    items: list[FlagItem]
    show: str
    page: int
    pages: int
    total: int
    counts: dict[str, int]


def _related_steps(session: Session, row: t.Process) -> list[tuple[int, str]]:
    """(process id, step id) of steps of other processes linked to this process's steps."""
    served = select(t.StepLink.process_id, t.StepLink.step).where(t.StepLink.journey_id == row.id)
    serving = select(t.StepLink.journey_id, t.StepLink.journey_step).where(
        t.StepLink.process_id == row.id
    )
    found = session.execute(union_all(served, serving)).all()
    return sorted({(p, s) for p, s in found if p != row.id})


def _related_condition(session: Session, row: t.Process):
    """Flags on ``row`` or on a linked step, as one statement shape whatever the number of
    links (a row-value IN list), so the database driver and SQLAlchemy reuse its plan."""
    linked = _related_steps(session, row)
    mine = t.Flag.process_id == row.id
    if not linked:
        return and_(t.Flag.org_id == row.org_id, mine)
    return and_(
        t.Flag.org_id == row.org_id,
        or_(mine, tuple_(t.Flag.process_id, t.Flag.step_id).in_(linked)),
    )


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
    """Flags on the process and on steps linked to its steps, newest first, one page: the counts
    by status in one query and the page with its authors, reviews and votes in another."""
    show = show if show in FLAG_FILTERS else "open"
    condition = _related_condition(session, row)
    by_status = dict(
        session.execute(
            select(t.Flag.status, func.count(t.Flag.id)).where(condition).group_by(t.Flag.status)
        ).all()
    )
    counts = {
        name: sum(by_status.get(status, 0) for status in statuses)
        for name, statuses in FLAG_FILTERS.items()
    }
    total = counts[show]
    page, pages = window(page, total, FLAG_PAGE_SIZE)
    votes = (
        select(func.count())
        .where(t.FlagVote.flag_id == t.Flag.id)
        .correlate(t.Flag)
        .scalar_subquery()
    )
    rows = session.execute(
        select(t.Flag, t.User, t.ProposalReview, t.Process.name, votes)
        .join(t.Process, t.Process.id == t.Flag.process_id)
        .outerjoin(t.User, t.User.id == t.Flag.author_id)
        .outerjoin(t.ProposalReview, t.ProposalReview.id == t.Flag.review_id)
        .where(condition, t.Flag.status.in_(FLAG_FILTERS[show]))
        .order_by(t.Flag.created_at.desc(), t.Flag.id.desc())
        .offset((page - 1) * FLAG_PAGE_SIZE)
        .limit(FLAG_PAGE_SIZE)
    ).all()
    items = [
        FlagItem(
            flag=flag,
            elsewhere="" if flag.process_id == row.id else name,
            votes=vote_count or 0,
            review=review,
            author=_author_word(flag, author, viewer),
        )
        for flag, author, review, name, vote_count in rows
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


def linked_flags(session: Session, review_ids: Sequence[int]) -> list[t.Flag]:
    if not review_ids:
        return []
    return list(
        session.scalars(
            select(t.Flag).where(t.Flag.review_id.in_(list(review_ids))).order_by(t.Flag.id)
        )
    )


# --- dashboard and proposals --------------------------------------------------------------


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
    #: Seconds since the figures were measured, when signals arrived after that.
    behind_by: float | None = None
    #: Names the analysis the figures come from, for caching what is drawn from them.
    analysis_tag: str = ""

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
    freshness: Freshness = EXACT,
) -> Dashboard:
    """What the review dashboard of ``row`` shows about its current version (the flags as
    they are now; the figures as recent as ``freshness`` asks)."""
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
    measured = org_analysis(
        session, org, cache, simulation_runs=simulation_runs, freshness=freshness
    )
    board.analysis_tag = measured.tag
    if not measured.up_to_date:
        board.behind_by = measured.age()
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
        measured, proposal = find_proposal(session, org, row, key, cache, simulation_runs)
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
