"""E-mails waiting to go out: "you said, we did" replies to customers, sent over SMTP.

Messages are queued in the same transaction as the change they report, so a reply is never
promised for a change that was rolled back. Sending is separate (``leanlane send-outbox`` or
the outbox page) and only happens when an SMTP server is configured; until then messages wait.
Each attempt is counted; a message that failed :data:`MAX_ATTEMPTS` times is left alone so
one bad address cannot block the queue.

A message goes to exactly the one address stored with it: an address that a mail server would
read as something else (two recipients, a display name, a comment, a control character, as
could come from an organisation archive or an older release) is never handed to the server,
and the subject is always a single line, so no stored text can add a header or a recipient.
"""

from __future__ import annotations

import smtplib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email import policy
from email.errors import HeaderParseError
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.adapters import tables as t
from workflow.services import audit
from workflow.services.accounts import email_problem
from workflow.services.paging import PageLinks, window

__all__ = [
    "MAX_ATTEMPTS",
    "OutboxPage",
    "SendReport",
    "Sender",
    "SmtpSettings",
    "one_line",
    "outbox_page",
    "queue_message",
    "queued_count",
    "send_queued",
    "smtp_sender",
    "undeliverable",
]

#: Failed attempts after which a message is no longer retried.
MAX_ATTEMPTS = 5
#: Messages sent per run at most, so one run stays short.
BATCH = 100
PAGE_SIZE = 25

#: Delivers one message or raises; what ``send_queued`` uses to talk to the world.
Sender = Callable[[t.OutboxMessage], None]


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    username: str = ""
    password: str = ""
    starttls: bool = True
    sender: str = "leanlane@localhost"
    timeout: float = 20.0

    @classmethod
    def from_config(cls, config: Mapping) -> SmtpSettings | None:
        """Settings from the app's configuration, or None when no SMTP host is set."""
        host = str(config.get("SMTP_HOST") or "").strip()
        if not host:
            return None
        return cls(
            host=host,
            port=int(config.get("SMTP_PORT") or 587),
            username=str(config.get("SMTP_USERNAME") or ""),
            password=str(config.get("SMTP_PASSWORD") or ""),
            starttls=_truthy(config.get("SMTP_STARTTLS", True)),
            sender=str(config.get("MAIL_FROM") or "leanlane@localhost"),
        )


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def undeliverable(address: str) -> str | None:
    """Why a message must not be handed to a mail server for ``address``, or None.

    The address must pass the same check as where addresses are entered, and a mail parser
    must read it back as exactly that one address (``a,b@x.org`` would be two recipients).
    """
    problem = email_problem(address)
    if problem is None and not _read_back_as(address):
        problem = "A mail server would read it as another address."
    return f"Not sent: {address!r} is not a plain e-mail address. {problem}" if problem else None


def _read_back_as(address: str) -> bool:
    """Whether the header parser that fills the To header (the strictest reader: it splits
    lists, takes display names and decodes encoded words) sees exactly ``address``."""
    try:
        parsed = policy.default.header_factory("To", address).addresses
    except (ValueError, HeaderParseError):
        return False
    return len(parsed) == 1 and parsed[0].display_name == "" and parsed[0].addr_spec == address


def one_line(text: str) -> str:
    """``text`` as one header line: line breaks and other control or format characters
    become spaces, runs of spaces one, and ``=?`` (which opens an encoded word a mail library
    would decode, line breaks included) ``= ?``."""
    kept = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return " ".join(kept.split()).replace("=?", "= ?")


def _email(settings: SmtpSettings, row: t.OutboxMessage) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = row.to_email
    message["Subject"] = one_line(row.subject)
    domain = settings.sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(f"outbox{row.id}", domain=domain)
    message.set_content(row.body)
    return message


def smtp_sender(settings: SmtpSettings) -> Sender:
    """A sender that opens one SMTP connection per message (simple, and a failure stays
    confined to its message)."""

    def send(row: t.OutboxMessage) -> None:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.username:
                smtp.login(settings.username, settings.password)
            # The recipient is given, not read back from the To header.
            smtp.send_message(_email(settings, row), to_addrs=[row.to_email])

    return send


def queue_message(
    session: Session, org_id: int, to_email: str, subject: str, body: str, flag_id: int | None
) -> t.OutboxMessage:
    """Store a message to send later, in the caller's transaction."""
    row = t.OutboxMessage(
        org_id=org_id,
        to_email=to_email[:254],
        subject=subject[:300],
        body=body,
        flag_id=flag_id,
    )
    session.add(row)
    return row


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int
    errors: tuple[str, ...]


def send_queued(
    session: Session,
    sender: Sender,
    *,
    org_id: int | None = None,
    batch: int = BATCH,
    actor_id: int | None = None,
) -> SendReport:
    """Send waiting messages (of one organisation, or all), oldest first.

    A message that fails keeps waiting with its error recorded; the others still go out. A
    person sending one organisation's messages is recorded in its audit trail (how many went,
    never to whom).
    """
    query = (
        select(t.OutboxMessage)
        .where(t.OutboxMessage.sent_at.is_(None), t.OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(t.OutboxMessage.id)
        .limit(batch)
    )
    if org_id is not None:
        query = query.where(t.OutboxMessage.org_id == org_id)
    sent = failed = 0
    errors: list[str] = []
    for row in session.scalars(query):
        row.attempts += 1
        refused = undeliverable(row.to_email)
        if refused:
            # It would fail the same way every time: given up on at once.
            failed += 1
            row.attempts = MAX_ATTEMPTS
            row.last_error = refused[:1000]
            errors.append(refused)
            continue
        try:
            sender(row)
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            errors.append(f"to {row.to_email}: {row.last_error}")
        except (ValueError, HeaderParseError) as exc:
            # The message cannot be built; it never will be, and it must not stop the others.
            failed += 1
            row.attempts = MAX_ATTEMPTS
            row.last_error = f"Not sent: the message cannot be built. {exc}"[:1000]
            errors.append(f"to {row.to_email}: {row.last_error}")
        else:
            sent += 1
            row.sent_at = t.utcnow()
            row.last_error = ""
    session.flush()
    if org_id is not None and (sent or failed):
        audit.record(
            session,
            org_id=org_id,
            actor_id=actor_id,
            action="outbox.sent",
            subject_kind="outbox",
            summary=f"Sent {sent} queued e-mail(s)" + (f", {failed} failed" if failed else ""),
            details={"sent": sent, "failed": failed},
        )
    return SendReport(sent, failed, tuple(errors))


def queued_count(session: Session, org_id: int | None = None) -> int:
    """Messages still waiting to be sent (those given up on excluded)."""
    query = select(func.count(t.OutboxMessage.id)).where(
        t.OutboxMessage.sent_at.is_(None), t.OutboxMessage.attempts < MAX_ATTEMPTS
    )
    if org_id is not None:
        query = query.where(t.OutboxMessage.org_id == org_id)
    return session.scalar(query) or 0


@dataclass(frozen=True)
class OutboxPage(PageLinks):
    rows: list[t.OutboxMessage]
    page: int
    pages: int
    total: int
    queued: int


def outbox_page(session: Session, org_id: int, page: int = 1, size: int = PAGE_SIZE) -> OutboxPage:
    """One page of the organisation's messages: waiting ones first, then newest sent."""
    total = (
        session.scalar(
            select(func.count(t.OutboxMessage.id)).where(t.OutboxMessage.org_id == org_id)
        )
        or 0
    )
    page, pages = window(page, total, size)
    waiting_first = t.OutboxMessage.sent_at.is_not(None)
    rows = list(
        session.scalars(
            select(t.OutboxMessage)
            .where(t.OutboxMessage.org_id == org_id)
            .order_by(waiting_first, t.OutboxMessage.sent_at.desc(), t.OutboxMessage.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
    )
    return OutboxPage(rows, page, pages, total, queued_count(session, org_id))
