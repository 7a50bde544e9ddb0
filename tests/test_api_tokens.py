"""Personal API tokens: made on the account page and shown once, kept as hashes, revoked."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from workflow.adapters import tables as t
from workflow.services import api_tokens
from workflow.services.errors import InvalidInput, NotFound


def test_a_token_is_stored_only_as_its_hash_and_works_until_revoked(session, make):
    user = make.user(make.org(), "staff")
    row, plain = api_tokens.create_token(session, user, "Report script")
    session.commit()
    assert plain.startswith("ll_") and len(plain) > 40
    assert row.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in (row.prefix * 2) and row.prefix == plain[:10]
    assert api_tokens.authenticate(session, plain).id == user.id
    assert row.last_used_at is not None
    assert api_tokens.authenticate(session, plain + "x") is None
    api_tokens.revoke_token(session, user, row.id)
    assert api_tokens.token_state(row) == "revoked"
    assert api_tokens.authenticate(session, plain) is None


def test_expiry_must_be_in_the_future_and_ends_the_token(session, make):
    user = make.user(make.org(), "owner")
    now = t.utcnow()
    with pytest.raises(InvalidInput) as refused:
        api_tokens.create_token(session, user, "Old", expires_at=now - dt.timedelta(days=1))
    assert refused.value.field == "expires"
    row, plain = api_tokens.create_token(
        session, user, "Week", expires_at=now + dt.timedelta(days=7), now=now
    )
    assert api_tokens.authenticate(session, plain, now=now + dt.timedelta(days=6)) is not None
    assert api_tokens.authenticate(session, plain, now=now + dt.timedelta(days=8)) is None
    assert api_tokens.token_state(row, now + dt.timedelta(days=8)) == "expired"


def test_names_are_required_and_tokens_of_others_cannot_be_revoked(session, make):
    org = make.org()
    alice, bob = make.user(org, "staff"), make.user(org, "staff")
    with pytest.raises(InvalidInput):
        api_tokens.create_token(session, alice, "  \x00 ")
    row, _plain = api_tokens.create_token(session, alice, "Mine")
    with pytest.raises(NotFound):
        api_tokens.revoke_token(session, bob, row.id)
    assert [r.id for r in api_tokens.user_tokens(session, bob)] == []


def test_a_user_holds_a_bounded_number_of_active_tokens(session, make):
    user = make.user(make.org(), "staff")
    for number in range(api_tokens.MAX_ACTIVE_TOKENS):
        api_tokens.create_token(session, user, f"t{number}")
    with pytest.raises(InvalidInput):
        api_tokens.create_token(session, user, "one more")


def test_the_account_page_makes_a_token_shows_it_once_and_revokes_it(client, session, make):
    user = make.user(make.org(), "staff")
    make.login(client, user)
    page = client.get("/account")
    assert "/account/tokens" in page.get_data(as_text=True)
    empty = client.get("/account/tokens").get_data(as_text=True)
    assert "no API tokens yet" in empty
    made = client.post("/account/tokens", data={"name": "Nightly sync", "expires": ""})
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "private, no-store"
    html = made.get_data(as_text=True)
    row = session.scalar(select(t.ApiToken).where(t.ApiToken.user_id == user.id))
    shown = html.split('id="new-token" type="text" readonly value="')[1].split('"')[0]
    assert shown.startswith(row.prefix)
    assert hashlib.sha256(shown.encode()).hexdigest() == row.token_hash
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert "Nightly sync" in listing and shown not in listing
    api = client.get("/api/v1/processes", headers={"Authorization": f"Bearer {shown}"})
    assert api.status_code == 200
    confirm = client.get(f"/account/tokens/revoke?token={row.id}").get_data(as_text=True)
    assert "Revoke “Nightly sync”?" in confirm
    revoked = client.post("/account/tokens/revoke", data={"token": row.id})
    assert revoked.status_code == 302
    session.refresh(row)
    assert row.revoked_at is not None
    api = client.get("/api/v1/processes", headers={"Authorization": f"Bearer {shown}"})
    assert api.status_code == 401


def test_the_token_form_names_the_field_at_fault(client, make):
    user = make.user(make.org(), "staff")
    make.login(client, user)
    refused = client.post("/account/tokens", data={"name": "", "expires": "2001-01-01"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Name the token" in html
    past = client.post("/account/tokens", data={"name": "Old", "expires": "2001-01-01"})
    assert "after today" in past.get_data(as_text=True)


def test_nobody_revokes_someone_elses_token_through_the_page(client, session, make):
    org = make.org()
    owner_of_token, other = make.user(org, "staff"), make.user(org, "admin")
    row, _plain = api_tokens.create_token(session, owner_of_token, "Theirs")
    session.commit()
    make.login(client, other)
    assert client.get(f"/account/tokens/revoke?token={row.id}").status_code == 302
    assert client.post("/account/tokens/revoke", data={"token": row.id}).status_code == 404
    session.refresh(row)
    assert row.revoked_at is None
