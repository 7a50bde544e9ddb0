"""The database schema, one class per table.

Process versions are immutable: an edit adds a row to ``process_versions`` and moves
``Process.current_version``. Signals from people (flags, "me too" votes, CES and pulse answers)
are rows of their own, so a new version never loses them; the engine sees them again when a
version is analysed (:mod:`workflow.adapters.repository`). Every row that belongs to an
organisation carries ``org_id`` so each query can be scoped to it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ApiToken",
    "AuditEvent",
    "CesAnswer",
    "Comment",
    "Flag",
    "FlagVote",
    "Job",
    "Organisation",
    "OutboxMessage",
    "Process",
    "ProcessMember",
    "ProcessVersion",
    "ProposalReview",
    "PulseAnswer",
    "PulseParticipation",
    "StepLink",
    "User",
    "metadata",
    "utcnow",
]

#: Stable constraint names, so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


metadata = Base.metadata


def _org_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    #: Whether staff are asked the eNPS pulse question.
    pulse_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: argon2id hash; empty until an invited user sets a password.
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Bumped at logout and password change: sessions carrying an older number stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    #: SHA-256 of the one-time invitation token (the token itself is only ever in the link).
    invite_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    invite_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)

    organisation: Mapped[Organisation] = relationship()


class Process(Base):
    """A journey or employee process; its content lives in its versions."""

    __tablename__ = "processes"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    #: The process id inside its model file (``workflow.validate.ID_PATTERN``).
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    perspective: Mapped[str] = mapped_column(String(30))
    #: Number of the version in use; also the optimistic lock a save must name.
    current_version: Mapped[int] = mapped_column(Integer, default=0)
    #: Random token of the public feedback link (journeys only).
    public_token: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    #: Bumped by every new flag, vote, status change or CES answer: the key of cached
    #: signal-dependent renders.
    signals_revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ProcessVersion(Base):
    """An immutable snapshot: the process as a one-process model in the YAML format."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    #: What changed, in words ("Added step Check ID", "Restored version 3").
    summary: Mapped[str] = mapped_column(String(500), default="")
    #: Validation problems of the saved document, one per line; empty when it is valid.
    problems: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: The swimlane map rendered when the version was saved (SVG), so pages never lay it out.
    map_svg: Mapped[str | None] = mapped_column(Text, default=None, deferred=True)


class ProcessMember(Base):
    """Staff who work in a process see it first."""

    __tablename__ = "process_members"
    __table_args__ = (UniqueConstraint("process_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class StepLink(Base):
    """Journey step ``journey_step`` is served by ``step`` of another process (blueprint)."""

    __tablename__ = "step_links"
    __table_args__ = (UniqueConstraint("journey_id", "journey_step", "process_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    journey_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    journey_step: Mapped[str] = mapped_column(String(100))
    process_id: Mapped[int] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(100))


class ProposalReview(Base):
    """The improvement team's decision on one proposal of one version."""

    __tablename__ = "proposal_reviews"
    __table_args__ = (UniqueConstraint("process_id", "version_number", "proposal_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    version_number: Mapped[int] = mapped_column(Integer)
    #: ``Proposal.id``: stable for the same version, rule and steps.
    proposal_key: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(500))
    rule: Mapped[str] = mapped_column(String(100))
    #: Step ids the proposal touches, comma separated.
    targets: Mapped[str] = mapped_column(Text, default="")
    #: open, accepted, rejected or applied.
    status: Mapped[str] = mapped_column(String(20), default="open")
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    #: The version the proposal went into when applied.
    applied_version: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("proposal_reviews.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Flag(Base):
    """A signal from staff or a customer that a step is pointless or painful."""

    __tablename__ = "flags"
    __table_args__ = (Index("ix_flags_process_step", "process_id", "step_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(100))
    #: Step name when flagged, so the flag still reads well after the step is renamed or removed.
    step_name: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    idea: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="new")
    #: Why it was addressed or will not be fixed, shown to the people who raised it.
    status_reason: Mapped[str] = mapped_column(Text, default="")
    #: The status an accepted proposal moved the flag from; rejecting or reopening the proposal
    #: puts it back. None when the flag's status is not the acceptance's doing.
    status_before_review: Mapped[str | None] = mapped_column(String(20), default=None)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    #: The author's name is shown to admins only.
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A customer's address, kept only with consent to be told what changed.
    contact_email: Mapped[str | None] = mapped_column(String(254), default=None)
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal_reviews.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class FlagVote(Base):
    """ "Me too" on an existing flag instead of a duplicate."""

    __tablename__ = "flag_votes"
    __table_args__ = (UniqueConstraint("flag_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CesAnswer(Base):
    """A Customer Effort Score answer on a journey (and the step they found hard)."""

    __tablename__ = "ces_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    process_id: Mapped[int] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[str | None] = mapped_column(String(100), default=None)
    score: Mapped[int] = mapped_column(Integer)
    scale: Mapped[str] = mapped_column(String(40))
    flag_id: Mapped[int | None] = mapped_column(
        ForeignKey("flags.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PulseAnswer(Base):
    """An anonymous eNPS answer: no user id, so nobody can trace it back."""

    __tablename__ = "pulse_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    score: Mapped[int] = mapped_column(Integer)
    scale: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(7))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PulseParticipation(Base):
    """Who answered the pulse in a period (one answer each), kept apart from the answers."""

    __tablename__ = "pulse_participation"
    __table_args__ = (UniqueConstraint("user_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))


class OutboxMessage(Base):
    """An e-mail waiting to be sent; sent over SMTP only when SMTP is configured."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    flag_id: Mapped[int | None] = mapped_column(
        ForeignKey("flags.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


class ApiToken(Base):
    """A personal token for the JSON API; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The token's first characters, so a user can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)


class Job(Base):
    """Slow work (a large import) done outside the request; the page polls its progress.

    The same row serves the in-process runner and an RQ worker, so progress looks the same in
    both. ``payload`` holds the uploaded bytes until the job has read them.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[str] = mapped_column(String(40))
    #: queued, running, done or failed.
    status: Mapped[str] = mapped_column(String(20), default="queued")
    #: 0.0 to 1.0.
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(String(500), default="")
    #: Options of the job as JSON (e.g. an event log's column mapping).
    params: Mapped[str] = mapped_column(Text, default="{}")
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    #: What the job made, as JSON (e.g. the ids of the imported processes).
    result: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    #: When the runner last said the job is still working; a running job whose heartbeat is
    #: older than the stale limit lost its worker (see ``workflow.services.jobs``).
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    #: When the job was last handed to a runner (empty while it waits for its options); an RQ
    #: queue entry is named after it, and a job queued in Redis whose entry is gone after a
    #: short grace is marked failed (see ``workflow.services.stale_jobs``).
    queued_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)


class AuditEvent(Base):
    """Who changed what in an organisation, written in the transaction of the change.

    The actor's name and e-mail are copied so the record still reads well after the user is
    deleted; ``process_id`` goes empty when the process is deleted, while the summary keeps
    its name. ``details`` is JSON of what changed (version numbers, old and new values), never
    a password, a token or a hash.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_org_created", "org_id", "created_at", "id"),
        Index("ix_audit_events_process_created", "process_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    #: A stable code such as ``process.version_saved`` (:data:`workflow.services.audit.ACTIONS`).
    action: Mapped[str] = mapped_column(String(60))
    subject_kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(300), default="")
    process_id: Mapped[int | None] = mapped_column(
        ForeignKey("processes.id", ondelete="SET NULL"), default=None
    )
    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
