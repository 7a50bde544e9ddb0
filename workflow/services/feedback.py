"""Customers report friction on a journey through its public link, and read what changed.

A customer who has no account opens ``/j/<token>`` and sees the journey as they lived it: only
the steps they can see, in their own words. They may say where it got hard, what kind of
trouble it was, how easy it was overall (the Customer Effort Score) and what happened, and may
leave an e-mail address to be told what changed. :func:`submit_feedback` turns that into the
same rows staff signals use, so heatmaps, scores and reviews treat both sides alike.

The public "you said, we did" page (:func:`published_changes`) lists what was decided on those
signals, and on the staff signals of the employee steps serving the journey, without ever
showing who raised them, their text or their contact details.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from workflow import model as engine
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.model import CES_SCALE
from workflow.services.accounts import email_problem
from workflow.services.errors import InvalidInput
from workflow.services.paging import PageLinks, window
from workflow.services.words import CUSTOMER_CATEGORIES, customer_phrase
from workflow.vocabulary import (
    STRUCTURAL_KINDS,
    FlagCategory,
    FlagSource,
    FlagStatus,
    Layer,
    Perspective,
    StepKind,
)

__all__ = [
    "CES_LABELS",
    "CHANGES_PER_PAGE",
    "GENERAL_STEP_NAME",
    "MAX_TEXT",
    "Change",
    "ChangeGroup",
    "ChangesPage",
    "CustomerStep",
    "FeedbackReceipt",
    "InvalidFeedback",
    "PublicJourney",
    "customer_steps",
    "describe_journey",
    "find_journey",
    "journey_at",
    "published_changes",
    "severity_for",
    "submit_feedback",
]

#: Longest "What happened?" text accepted, in characters.
MAX_TEXT = 2000
MAX_TOKEN = 64
CHANGES_PER_PAGE = 20

#: The CES agree scale, 1 to 7 ("<Organisation> made it easy for me to ...").
CES_LABELS: dict[int, str] = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Somewhat disagree",
    4: "Neither agree nor disagree",
    5: "Somewhat agree",
    6: "Agree",
    7: "Strongly agree",
}

#: ``Flag.step_name`` of feedback that named no step (kept on the journey's start step).
GENERAL_STEP_NAME = "General (the customer named no step)"
_GENERAL_WORDS = "In general"

#: A proposal whose title may be shown: the team decided to make the change.
_PUBLISHED_REVIEWS = ("accepted", "applied")
#: The answers in the order the form asks them, so errors are listed in that order.
_FIELDS = ("step", "category", "score", "text", "email", "consent")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class CustomerStep:
    """A step as the customer sees it: its id and the words they know it by."""

    id: str
    words: str


@dataclass(frozen=True)
class PublicJourney:
    """What the public page of a journey may show, and nothing more (``process``, the version
    it shows, is kept to check a customer's answer against, never shown whole)."""

    row: t.Process
    organisation: str
    name: str
    steps: tuple[CustomerStep, ...]
    process: engine.Process | None = field(default=None, repr=False, compare=False)

    @property
    def statement(self) -> str:
        """The CES statement: "Acme made it easy for me to return an online order"."""
        return f"{self.organisation} made it easy for me to {_lower_first(self.name)}"


@dataclass(frozen=True)
class FeedbackReceipt:
    """The rows one submission made (either may be None, never both)."""

    flag: t.Flag | None
    answer: t.CesAnswer | None


@dataclass(frozen=True)
class Change:
    """One decision on a signal, as the public may read it."""

    status: str
    said: str
    reason: str
    change_title: str
    when: dt.datetime


@dataclass
class ChangeGroup:
    words: str
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class ChangesPage(PageLinks):
    groups: tuple[ChangeGroup, ...]
    page: int
    pages: int
    total: int


def _lower_first(name: str) -> str:
    """Lowercase the first letter, unless the first word is an acronym ("IT access")."""
    name = name.strip()
    first = name.split(" ", 1)[0]
    if not name or (len(first) > 1 and first.isupper()):
        return name
    return name[0].lower() + name[1:]


def _is_customer_visible(process: engine.Process, step: engine.Step) -> bool:
    """A step the customer meets: it has a customer name, or is in a customer lane or on the
    customer-action or frontstage layer. Events, gateways and choices are shape, not things a
    customer does ("Customer calls to ask for status?"), so they are shown only when the owner
    gave them a customer name."""
    if step.customer_name.strip():
        return True
    if step.kind in STRUCTURAL_KINDS or step.kind is StepKind.DECISION:
        return False
    return process.is_customer_step(step) or step.layer in (Layer.CUSTOMER_ACTION, Layer.FRONTSTAGE)


def _journey_order(process: engine.Process) -> list[str]:
    """Step ids in the order a customer meets them: breadth first from the start, rework loops
    ignored; steps the start cannot reach keep their place at the end."""
    try:
        start = process.start()
    except LookupError:
        return list(process.graph)
    seen = {start}
    order = []
    queue = deque([start])
    while queue:
        node = queue.popleft()
        order.append(node)
        for target in process.graph.succ[node]:
            if target not in seen and not process.flow(node, target).rework:
                seen.add(target)
                queue.append(target)
    order.extend(node for node in process.graph if node not in seen)
    return order


def customer_steps(process: engine.Process) -> list[CustomerStep]:
    """The steps a customer can see, in journey order, each in customer words."""
    steps = []
    for step_id in _journey_order(process):
        step = process.step(step_id)
        if _is_customer_visible(process, step):
            steps.append(CustomerStep(step.id, (step.customer_name or step.name).strip()))
    return steps


def find_journey(session: Session, token: str) -> t.Process | None:
    """The customer journey behind a public token; None for any other token."""
    if not token or len(token) > MAX_TOKEN:
        return None
    row = session.scalar(select(t.Process).where(t.Process.public_token == token))
    if row is None or row.perspective != Perspective.CUSTOMER_JOURNEY.value:
        return None
    return row


def _current_process(session: Session, row: t.Process) -> engine.Process:
    """The journey as its current version has it (parsed once per document text)."""
    return repo.parse_document(repo.current_version(session, row).document).process


def _public(row: t.Process, organisation: str, process: engine.Process) -> PublicJourney:
    return PublicJourney(
        row=row,
        organisation=organisation,
        name=row.name,
        steps=tuple(customer_steps(process)),
        process=process,
    )


def describe_journey(session: Session, row: t.Process) -> PublicJourney:
    """A journey's public face: organisation, name and customer-visible steps."""
    organisation = session.get(t.Organisation, row.org_id)
    return _public(row, organisation.name if organisation else "", _current_process(session, row))


def journey_at(session: Session, token: str) -> PublicJourney | None:
    """The public face of the journey behind a public token, read in one query (customers
    open and post its form more than any other page); None for any other token, and for a
    journey without a version to show."""
    if not token or len(token) > MAX_TOKEN:
        return None
    found = session.execute(
        select(t.Process, t.Organisation.name, t.ProcessVersion.document)
        .join(t.Organisation, t.Organisation.id == t.Process.org_id)
        .join(
            t.ProcessVersion,
            and_(
                t.ProcessVersion.process_id == t.Process.id,
                t.ProcessVersion.number == t.Process.current_version,
            ),
        )
        .where(
            t.Process.public_token == token,
            t.Process.perspective == Perspective.CUSTOMER_JOURNEY.value,
        )
    ).one_or_none()
    if found is None:
        return None
    row, organisation, document = found
    return _public(row, organisation, repo.parse_document(document).process)


def severity_for(score: int | None, category: FlagCategory) -> int:
    """The severity (1-5) of a customer flag, from how hard they said it was.

    A CES of 1-2 (they disagree it was easy) gives 4, 3-4 gives 3, 5-7 gives 2, and no
    answer gives 3 (they took the trouble to report it). System trouble and having to chase
    for news add 1 (capped at 5): the customer was stopped, or had to do the company's work
    to learn where their case stood.
    """
    if score is None:
        base = 3
    elif score <= 2:
        base = 4
    elif score <= 4:
        base = 3
    else:
        base = 2
    if category in (FlagCategory.SYSTEM_TROUBLE, FlagCategory.CHASING_STATUS):
        base += 1
    return min(base, 5)


class InvalidFeedback(InvalidInput):
    """Feedback refused, with every wrong answer at once so the customer fixes them together.

    ``field`` and the message are those of the first problem; ``errors`` maps each field at
    fault to what to do about it, in form order.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field)
        self.errors = dict(errors)


def _clean_text(text: str, errors: dict[str, str]) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if len(text) > MAX_TEXT:
        errors["text"] = f"Please keep it to {MAX_TEXT:,} characters (you wrote {len(text):,})."
    return text


def _clean_email(email: str, consent: bool, errors: dict[str, str]) -> str | None:
    email = email.strip()
    if not email:
        if consent:
            errors["email"] = (
                "Enter your e-mail address so we can tell you what changed, or untick the box."
            )
        return None
    problem = email_problem(email)
    if problem:
        errors["email"] = problem
        return None
    if not consent:
        errors["consent"] = (
            "Tick the box if we may e-mail you about what changed, or leave the address empty."
        )
        return None
    return email.lower()


def _chosen_category(category: str | None, errors: dict[str, str]) -> FlagCategory | None:
    if not category:
        return None
    try:
        chosen = FlagCategory(category)
    except ValueError:
        chosen = None
    if chosen not in CUSTOMER_CATEGORIES:
        errors["category"] = "Choose one of the kinds of trouble listed."
        return None
    return chosen


def _general_step(process: engine.Process) -> tuple[str, str]:
    try:
        return process.start(), GENERAL_STEP_NAME
    except LookupError:
        first = next(iter(process.graph))
        return first, GENERAL_STEP_NAME


def submit_feedback(
    session: Session,
    journey: t.Process,
    step_id: str | None,
    category: str | None,
    score: int | None,
    text: str,
    email: str = "",
    consent: bool = False,
    *,
    current: engine.Process | None = None,
) -> FeedbackReceipt:
    """Store one customer's feedback on a journey, in the caller's transaction.

    ``current`` is the journey's current version when the caller has read it in this
    transaction already (the public page shows its steps before taking the answer).

    - ``step_id`` is a customer-visible step of the current version, or None for "somewhere
      else / not sure".
    - A flag (source customer, no author) is made whenever a kind of trouble (``category``) is
      given; it is required when a step is named or something is written, so every flag says
      what went wrong. Its severity comes from :func:`severity_for`.
    - A flag needs a step. Feedback that names none goes on the journey's start step with the
      step name :data:`GENERAL_STEP_NAME`: start steps carry no scores, so it is read by the
      team without counting as pain of any one step.
    - A CES answer (scale :data:`workflow.model.CES_SCALE`) is stored when ``score`` is given,
      on the named step (None when none was named) and tied to the flag when there is one.
    - The e-mail address is kept on the flag, and only with ``consent``; it needs a flag to
      report back on, so it asks for a kind of trouble.
    - The journey's ``signals_revision`` is bumped, so signal-dependent pictures are redrawn.

    Raises :class:`InvalidFeedback` naming every field at fault (``step``, ``category``,
    ``score``, ``text``, ``email``, ``consent``), and :class:`InvalidInput` for a process that
    is not a customer journey.
    """
    if journey.perspective != Perspective.CUSTOMER_JOURNEY.value:
        raise InvalidInput("Feedback can only be given on a customer journey.", "")
    process = current if current is not None else _current_process(session, journey)
    errors: dict[str, str] = {}
    if step_id is not None and step_id not in {step.id for step in customer_steps(process)}:
        errors["step"] = 'Choose one of the steps listed, or "Somewhere else / not sure".'
    chosen = _chosen_category(category, errors)
    if score is not None and not 1 <= score <= 7:
        errors["score"] = "Choose a number from 1 to 7."
    text = _clean_text(text, errors)
    contact = _clean_email(email, consent, errors)
    if chosen is None and "category" not in errors:
        if step_id is not None:
            errors["category"] = "Choose what kind of trouble you had at this step."
        elif text:
            errors["category"] = "Choose what kind of trouble it was."
        elif contact:
            errors["category"] = (
                "Choose what kind of trouble it was, so we can tell you what changed."
            )
        elif score is None and not errors:
            errors["score"] = "Tell us how easy it was, or what kind of trouble you had."
    if errors:
        raise InvalidFeedback({name: errors[name] for name in _FIELDS if name in errors})

    flag = None
    if chosen is not None:
        if step_id is not None:
            flag_step, step_name = step_id, process.step(step_id).name[:200]
        else:
            flag_step, step_name = _general_step(process)
        now = t.utcnow()
        flag = t.Flag(
            org_id=journey.org_id,
            process_id=journey.id,
            step_id=flag_step,
            step_name=step_name,
            source=FlagSource.CUSTOMER.value,
            category=chosen.value,
            severity=severity_for(score, chosen),
            text=text,
            status=FlagStatus.NEW.value,
            author_id=None,
            anonymous=False,
            contact_email=contact,
            contact_consent=contact is not None,
            created_at=now,
            updated_at=now,
        )
        session.add(flag)
        session.flush()
    answer = None
    if score is not None:
        answer = t.CesAnswer(
            org_id=journey.org_id,
            process_id=journey.id,
            step_id=step_id,
            score=score,
            scale=CES_SCALE,
            flag_id=flag.id if flag is not None else None,
        )
        session.add(answer)
    session.execute(
        update(t.Process)
        .where(t.Process.id == journey.id)
        .values(signals_revision=t.Process.signals_revision + 1)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return FeedbackReceipt(flag=flag, answer=answer)


def _served_steps(session: Session, journey: t.Process) -> dict[tuple[int, str], str]:
    """(process row id, step id) of each employee step serving the journey -> journey step."""
    found: dict[tuple[int, str], str] = {}
    for link in session.scalars(
        select(t.StepLink)
        .where(t.StepLink.journey_id == journey.id, t.StepLink.org_id == journey.org_id)
        .order_by(t.StepLink.id)
    ):
        found.setdefault((link.process_id, link.step), link.journey_step)
    return found


def published_changes(
    session: Session, journey: t.Process, page: int = 1, per_page: int = CHANGES_PER_PAGE
) -> ChangesPage:
    """The journey's "you said, we did": decided signals, newest decision first.

    Flags on the journey and on the employee steps serving it (through its step links) that
    were addressed or will not be fixed, grouped under the journey step they concern in
    customer words (feedback on no step, or on a step customers do not see, under "In
    general"). Each shows what was raised as a category phrase, the reason given and, when the
    flag is tied to a proposal the team accepted or applied, that proposal's title. Authors,
    their text and contact details never leave this function.
    """
    served = exists().where(
        t.StepLink.journey_id == journey.id,
        t.StepLink.process_id == t.Flag.process_id,
        t.StepLink.step == t.Flag.step_id,
    )
    decided = (
        t.Flag.org_id == journey.org_id,
        t.Flag.status.in_((FlagStatus.ADDRESSED.value, FlagStatus.WONT_FIX.value)),
        or_(t.Flag.process_id == journey.id, served),
    )
    total = session.scalar(select(func.count()).select_from(t.Flag).where(*decided)) or 0
    page, pages = window(page, total, per_page)
    rows = session.execute(
        select(
            t.Flag.process_id,
            t.Flag.step_id,
            t.Flag.category,
            t.Flag.status,
            t.Flag.status_reason,
            t.Flag.updated_at,
            t.ProposalReview.title,
            t.ProposalReview.status,
        )
        .outerjoin(t.ProposalReview, t.ProposalReview.id == t.Flag.review_id)
        .where(*decided)
        .order_by(t.Flag.updated_at.desc(), t.Flag.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    words = {step.id: step.words for step in customer_steps(_current_process(session, journey))}
    links = _served_steps(session, journey) if rows else {}
    groups: dict[str, ChangeGroup] = {}
    for process_id, step_id, category, status, reason, when, title, review_status in rows:
        journey_step = step_id if process_id == journey.id else links.get((process_id, step_id))
        heading = words.get(journey_step or "", _GENERAL_WORDS)
        group = groups.setdefault(heading, ChangeGroup(heading))
        group.changes.append(
            Change(
                status=status,
                said=customer_phrase(category),
                reason=reason.strip(),
                change_title=title if title and review_status in _PUBLISHED_REVIEWS else "",
                when=when,
            )
        )
    return ChangesPage(groups=tuple(groups.values()), page=page, pages=pages, total=total)
