"""How guessing passwords and flooding the public form are slowed down, measured with the
production limits: wrong passwords from one client, wrong passwords for one account from many
clients, known against unknown addresses, and customer reports from one client.

Each test counts the attempts it made, how many were answered and how many were refused, and
prints the figures (``pytest -s``) for the reliability table.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from web import create_app
from workflow.adapters import tables as t
from workflow.services import accounts

#: The limits a fresh installation runs with (web/__init__.py), so the test measures them.
DEFAULTS = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "defaults"}).config
PER_CLIENT = int(DEFAULTS["LOGIN_RATE_LIMIT"].split()[0])
PER_ACCOUNT = int(DEFAULTS["LOGIN_ACCOUNT_RATE_LIMIT"].split()[0])
FEEDBACK_PER_CLIENT = int(DEFAULTS["FEEDBACK_RATE_LIMIT"].split()[0])
PAUSED_WORDS = "too many failed log-ins to this e-mail address"  # as in ACCOUNT_PAUSED


@pytest.fixture
def limited(rate_limited):
    """An app with the production rate limits on."""
    return rate_limited()


def attempt(client, email: str, password: str, address: str = "203.0.113.1"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def address(n: int) -> str:
    return f"198.51.{n // 250}.{n % 250 + 1}"


def report(what: str, statuses: list[int]) -> None:
    refused = statuses.count(429)
    print(f"\n{what}: tried {len(statuses)}, answered {len(statuses) - refused}, refused {refused}")


def test_one_client_guessing_is_refused_after_the_per_client_limit(limited, make, session):
    user = make.user(make.org(), "staff")
    client = limited.test_client()
    tries = PER_CLIENT * 3

    statuses = [attempt(client, user.email, f"guess {n}").status_code for n in range(tries)]
    right = attempt(client, user.email, PASSWORD)

    report("wrong passwords from one client", statuses)
    assert statuses == [401] * PER_CLIENT + [429] * (tries - PER_CLIENT)
    assert right.status_code == 429, "a right password is refused too while the client waits"
    assert int(right.headers["Retry-After"]) > 0
    assert "Too many requests" in right.get_data(as_text=True)
    session.expire_all()
    assert session.get(t.User, user.id).last_login_at is None


def test_guessing_one_account_from_many_clients_pauses_that_account_only(limited, make, session):
    org = make.org()
    target, bystander = make.user(org, "admin"), make.user(org, "staff")
    client = limited.test_client()
    tries = PER_ACCOUNT + 10

    statuses = [
        attempt(client, target.email.upper(), "guess", address(n)).status_code for n in range(tries)
    ]
    right = attempt(client, target.email, PASSWORD, address(tries))
    other = attempt(client, bystander.email, PASSWORD, address(tries + 1))

    report("wrong passwords for one account from distinct clients", statuses)
    assert statuses == [401] * PER_ACCOUNT + [429] * (tries - PER_ACCOUNT)
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 60, "the account pause lasts beyond a minute"
    assert PAUSED_WORDS in right.get_data(as_text=True)
    assert other.status_code == 302, "another account is not affected"
    session.expire_all()
    assert session.get(t.User, target.id).last_login_at is None


def test_successful_logins_do_not_use_up_the_account_limit(limited, make):
    user = make.user(make.org(), "staff")
    tries = PER_ACCOUNT + 5
    statuses = [
        attempt(limited.test_client(), user.email, PASSWORD, address(n)).status_code
        for n in range(tries)
    ]
    assert statuses == [302] * tries


def test_known_and_unknown_addresses_get_the_same_answers(limited, make):
    known = make.user(make.org(), "staff").email
    unknown = "nobody-here@" + known.split("@")[1]
    answers = {}
    for email in (known, unknown):
        client = limited.test_client()
        responses = [attempt(client, email, "guess", address(n)) for n in range(PER_ACCOUNT + 2)]
        answers[email] = [
            (r.status_code, r.get_data(as_text=True).replace(email, "ADDRESS")) for r in responses
        ]

    assert answers[known] == answers[unknown]
    assert answers[known][-1][0] == 429
    assert PAUSED_WORDS in answers[known][-1][1]


@pytest.mark.parametrize("exists", [True, False], ids=["known", "unknown"])
def test_every_failed_login_checks_one_password_hash(app, make, monkeypatch, exists):
    """An unknown address costs the same work as a known one (a dummy hash is checked), so the
    time of the answer does not tell whether the address has an account."""
    user = make.user(make.org(), "staff")
    checked = []
    real_verify = accounts.verify_password
    monkeypatch.setattr(
        accounts, "verify_password", lambda h, p: checked.append(h) or real_verify(h, p)
    )
    email = user.email if exists else "nobody@nowhere.example"

    response = attempt(app.test_client(), email, "wrong password")

    assert response.status_code == 401
    assert len(checked) == 1
    assert (checked[0] == user.password_hash) is exists


def test_a_flood_of_customer_reports_from_one_client_is_refused(limited, make, session):
    journey = make.model(make.org(), "insurance_claim.yaml")["file_claim"]
    url = f"/j/{journey.public_token}"
    answer = {"step": "chase", "category": "chasing_status", "score": "2", "text": "No news."}
    client = limited.test_client()
    before = session.scalar(select(func.count()).select_from(t.Flag))
    tries = FEEDBACK_PER_CLIENT * 4

    statuses = [
        client.post(url, data=answer, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code
        for _ in range(tries)
    ]
    elsewhere = client.post(url, data=answer, environ_base={"REMOTE_ADDR": "192.0.2.8"})

    report("customer reports from one client", statuses)
    assert statuses == [302] * FEEDBACK_PER_CLIENT + [429] * (tries - FEEDBACK_PER_CLIENT)
    assert elsewhere.status_code == 302
    session.expire_all()
    stored = session.scalar(select(func.count()).select_from(t.Flag)) - before
    assert stored == FEEDBACK_PER_CLIENT + 1
