"""The outbox: "you said, we did" messages wait until SMTP is configured, then go out once."""

from __future__ import annotations

import email
import email.policy
import smtplib
import socketserver
import threading

import pytest
from sqlalchemy import select

from web.cli import main
from workflow.adapters import tables as t
from workflow.services import outbox


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greet, accept one envelope at a time, keep the data."""

    timeout = 5

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        self._say("220 stand-in ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250 stand-in")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 end with <CRLF>.<CRLF>")
                data = []
                for raw in iter(self.rfile.readline, b""):
                    if raw in (b".\r\n", b".\n"):
                        break
                    data.append(raw[1:] if raw.startswith(b"..") else raw)
                if self.server.refuse:
                    self._say("554 no thanks")
                else:
                    self.server.received.append(b"".join(data))
                    self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("502 not here")


class SmtpStandIn(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.received: list[bytes] = []
        self.refuse = False

    @property
    def port(self) -> int:
        return self.server_address[1]

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default) for raw in self.received]


@pytest.fixture
def smtp():
    server = SmtpStandIn()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def org(make):
    return make.org()


def queue(session, org, count=1, **values):
    rows = []
    for n in range(count):
        rows.append(
            outbox.queue_message(
                session,
                org.id,
                values.get("to", f"customer{n}@example.com"),
                values.get("subject", "You said, we did: Claims"),
                values.get("body", "We changed it."),
                None,
            )
        )
    session.commit()
    return rows


def all_messages(session):
    session.expire_all()
    return list(session.scalars(select(t.OutboxMessage).order_by(t.OutboxMessage.id)))


def test_queued_messages_are_sent_once_through_the_given_sender(session, org):
    queue(session, org, 2)
    sent = []
    report = outbox.send_queued(session, sent.append)
    session.commit()
    assert (report.sent, report.failed) == (2, 0)
    assert [m.to_email for m in sent] == ["customer0@example.com", "customer1@example.com"]
    assert all(m.sent_at is not None and m.attempts == 1 for m in all_messages(session))
    again = outbox.send_queued(session, sent.append)
    assert again.sent == 0 and len(sent) == 2


def test_a_failing_message_records_its_error_and_the_others_still_go(session, org):
    bad, _ = queue(session, org, 2)

    def sender(message):
        if message.id == bad.id:
            raise smtplib.SMTPRecipientsRefused({message.to_email: (550, b"no such user")})

    report = outbox.send_queued(session, sender)
    session.commit()
    assert (report.sent, report.failed) == (1, 1)
    failed, delivered = all_messages(session)
    assert failed.sent_at is None and "SMTPRecipientsRefused" in failed.last_error
    assert delivered.sent_at is not None
    assert outbox.queued_count(session) == 1


def test_a_message_is_given_up_after_the_last_attempt(session, org):
    queue(session, org)

    def sender(_message):
        raise ConnectionRefusedError("nobody listens")

    for _ in range(outbox.MAX_ATTEMPTS + 2):
        outbox.send_queued(session, sender)
    session.commit()
    (message,) = all_messages(session)
    assert message.attempts == outbox.MAX_ATTEMPTS and message.sent_at is None
    assert outbox.queued_count(session) == 0


def test_sending_can_be_limited_to_one_organisation(session, make, org):
    queue(session, org)
    queue(session, make.org("Other"))
    sent = []
    outbox.send_queued(session, sent.append, org_id=org.id)
    assert [m.org_id for m in sent] == [org.id]


def test_smtp_settings_exist_only_with_a_host():
    assert outbox.SmtpSettings.from_config({"SMTP_HOST": " "}) is None
    settings = outbox.SmtpSettings.from_config(
        {"SMTP_HOST": "mail.example", "SMTP_PORT": "2525", "SMTP_STARTTLS": "false"}
    )
    assert (settings.host, settings.port, settings.starttls) == ("mail.example", 2525, False)


def test_the_smtp_sender_delivers_a_real_message(session, org, smtp):
    (row,) = queue(session, org, to="pat@example.com", body="Line one.\n.\nLine three.")
    settings = outbox.SmtpSettings(
        host="127.0.0.1", port=smtp.port, starttls=False, sender="team@leanlane.example"
    )
    report = outbox.send_queued(session, outbox.smtp_sender(settings))
    assert report.sent == 1
    (message,) = smtp.messages()
    assert message["To"] == "pat@example.com" and message["From"] == "team@leanlane.example"
    assert message["Subject"] == "You said, we did: Claims"
    assert message.get_content().replace("\r\n", "\n") == "Line one.\n.\nLine three.\n"
    assert row.id is not None


# --- the outbox page ----------------------------------------------------------------------


def test_the_outbox_page_lists_waiting_messages_without_a_send_button_when_unconfigured(
    client, make, session, org
):
    queue(session, org, body="Dear Pat, we changed it.")
    make.login(client, make.user(org, "reviewer"))
    body = client.get("/review/outbox").get_data(as_text=True)
    assert "customer0@example.com" in body and "Dear Pat, we changed it." in body
    assert "waiting" in body and "No SMTP server is configured" in body
    assert "Send 1 now" not in body


def test_the_outbox_page_is_empty_at_first(client, make, org):
    make.login(client, make.user(org, "admin"))
    assert "No messages yet." in client.get("/review/outbox").get_data(as_text=True)


def test_the_outbox_page_shows_only_the_organisations_messages_in_pages(client, make, session, org):
    queue(session, org, outbox.PAGE_SIZE + 1)
    queue(session, make.org("Other"), to="someone@else.example")
    make.login(client, make.user(org, "reviewer"))
    first = client.get("/review/outbox").get_data(as_text=True)
    assert "Page 1 of 2" in first and "someone@else.example" not in first
    assert "Page 2 of 2" in client.get("/review/outbox?page=2").get_data(as_text=True)


def test_send_now_without_smtp_leaves_messages_queued(client, make, session, org):
    queue(session, org)
    make.login(client, make.user(org, "reviewer"))
    response = client.post("/review/outbox/send", follow_redirects=True)
    assert "messages stay queued" in response.get_data(as_text=True)
    assert all_messages(session)[0].sent_at is None


def test_send_now_delivers_over_the_configured_smtp_server(app, client, make, session, org, smtp):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_STARTTLS=False)
    queue(session, org, 2)
    make.login(client, make.user(org, "reviewer"))
    assert "Send 2 now" in client.get("/review/outbox").get_data(as_text=True)
    response = client.post("/review/outbox/send", follow_redirects=True)
    assert "2 message(s) sent." in response.get_data(as_text=True)
    assert len(smtp.messages()) == 2
    assert all(m.sent_at is not None for m in all_messages(session))


def test_send_now_reports_a_refusing_server_and_keeps_the_message(
    app, client, make, session, org, smtp
):
    smtp.refuse = True
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_STARTTLS=False)
    queue(session, org)
    make.login(client, make.user(org, "reviewer"))
    response = client.post("/review/outbox/send", follow_redirects=True)
    assert "1 failed and will be retried" in response.get_data(as_text=True)
    (message,) = all_messages(session)
    assert message.sent_at is None and message.attempts == 1 and "554" in message.last_error


# --- leanlane send-outbox -----------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LEANLANE_SECRET_KEY", "cli-test")
    monkeypatch.setenv("LEANLANE_RENDER_CACHE_DIR", str(tmp_path / "renders"))
    monkeypatch.delenv("LEANLANE_SMTP_HOST", raising=False)
    return monkeypatch


def test_send_outbox_without_smtp_says_so_and_leaves_messages_queued(cli_env, capsys, session, org):
    queue(session, org, 2)
    assert main(["send-outbox"]) == 0
    assert "No SMTP server is configured" in capsys.readouterr().out
    assert outbox.queued_count(session) == 2


def test_send_outbox_sends_through_the_configured_server(cli_env, capsys, session, org, smtp):
    cli_env.setenv("LEANLANE_SMTP_HOST", "127.0.0.1")
    cli_env.setenv("LEANLANE_SMTP_PORT", str(smtp.port))
    cli_env.setenv("LEANLANE_SMTP_STARTTLS", "false")
    queue(session, org, 3)
    assert main(["send-outbox"]) == 0
    assert "Sent 3 messages" in capsys.readouterr().out
    assert len(smtp.messages()) == 3
    assert outbox.queued_count(session) == 0


def test_send_outbox_exits_non_zero_when_a_message_fails(cli_env, capsys, session, org, smtp):
    smtp.refuse = True
    cli_env.setenv("LEANLANE_SMTP_HOST", "127.0.0.1")
    cli_env.setenv("LEANLANE_SMTP_PORT", str(smtp.port))
    cli_env.setenv("LEANLANE_SMTP_STARTTLS", "false")
    queue(session, org)
    assert main(["send-outbox"]) == 1
    captured = capsys.readouterr()
    assert "1 failed" in captured.out and "554" in captured.err
    assert outbox.queued_count(session) == 1
