"""Admin pages: inviting users, roles, deactivation, invitation links and organisation settings."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from web import create_app, database
from workflow.adapters import tables as t
from workflow.services import accounts, admin

NEW_PASSWORD = "a brand new passphrase"


def invitation_link(body: str) -> str:
    found = re.search(r'value="(http://localhost/invite/[^"]+)"', body)
    assert found, body
    return found.group(1)


def path_of(link: str) -> str:
    return link.removeprefix("http://localhost")


@pytest.fixture
def org_admin(make, client):
    org = make.org()
    user = make.user(org, "admin", name="Ada Admin")
    make.login(client, user)
    return org, user


# -- access ------------------------------------------------------------------------------------


def admin_urls(user_id: int) -> list[tuple[str, str]]:
    return [
        ("get", "/admin/users"),
        ("get", "/admin/users/invite"),
        ("post", "/admin/users/invite"),
        ("get", f"/admin/users/{user_id}"),
        ("post", f"/admin/users/{user_id}"),
        ("get", f"/admin/users/{user_id}/deactivate"),
        ("post", f"/admin/users/{user_id}/deactivate"),
        ("post", f"/admin/users/{user_id}/reactivate"),
        ("post", f"/admin/users/{user_id}/invitation"),
        ("get", "/admin/organisation"),
        ("post", "/admin/organisation"),
    ]


@pytest.mark.parametrize("role", ["staff", "owner", "reviewer"])
def test_only_admins_may_open_the_admin_pages(client, make, role):
    org = make.org()
    colleague = make.user(org, "staff")
    make.login(client, make.user(org, role))
    for method, url in admin_urls(colleague.id):
        assert getattr(client, method)(url).status_code == 403, (method, url)


def test_anonymous_visitors_are_sent_to_log_in_from_admin_pages(client, make):
    colleague = make.user(make.org(), "staff")
    for method, url in admin_urls(colleague.id):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_pages_open_for_an_admin(client, org_admin, make):
    org, _ = org_admin
    colleague = make.user(org, "staff")
    for url in (
        "/admin/users",
        "/admin/users/invite",
        f"/admin/users/{colleague.id}",
        f"/admin/users/{colleague.id}/deactivate",
        "/admin/organisation",
    ):
        assert client.get(url).status_code == 200, url


def test_another_organisations_users_are_not_found(client, org_admin, make, session):
    stranger = make.user(make.org("Elsewhere"), "staff")
    for method, url in admin_urls(stranger.id):
        if "/users/" in url and url != "/admin/users/invite":
            assert getattr(client, method)(url).status_code == 404, (method, url)
    session.refresh(stranger)
    assert stranger.active and stranger.role == "staff"


# -- the list ----------------------------------------------------------------------------------


def test_the_user_list_shows_name_email_role_access_and_last_login(client, org_admin, make):
    org, _me = org_admin
    make.user(org, "reviewer", name="Rita Reviewer", email="rita@acme.example")
    client.post(
        "/admin/users/invite", data={"email": "ivy@acme.example", "name": "Ivy", "role": "owner"}
    )
    make.user(make.org("Elsewhere"), "staff", name="Outsider")
    body = client.get("/admin/users").get_data(as_text=True)
    assert "Rita Reviewer" in body and "rita@acme.example" in body and "Improvement team" in body
    assert "Invited, link valid until" in body and "Ivy" in body
    assert "UTC" in body and "Never" in body
    assert "Outsider" not in body


def test_the_user_list_is_paginated(client, org_admin, make, session):
    org, _ = org_admin
    for n in range(admin.USERS_PER_PAGE + 3):
        session.add(
            t.User(
                org_id=org.id, email=f"u{n:02d}@acme.example", name=f"User {n:02d}", role="staff"
            )
        )
    session.commit()
    first = client.get("/admin/users").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Next page" in first
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second and "Previous page" in second
    assert "User 27" in second and "User 27" not in first
    assert client.get("/admin/users?page=99").status_code == 200
    assert client.get("/admin/users?page=nonsense").status_code == 200


# -- invitations -------------------------------------------------------------------------------


def test_an_invited_user_follows_the_link_sets_a_password_and_logs_in(app, client, org_admin):
    response = client.post(
        "/admin/users/invite",
        data={"email": "New.Person@Acme.example", "name": "New Person", "role": "reviewer"},
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Invitation created for New Person" in body
    link = invitation_link(body)
    newcomer = app.test_client()
    assert newcomer.get(path_of(link)).status_code == 200
    accepted = newcomer.post(
        path_of(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert accepted.status_code == 302
    newcomer.post("/logout")
    assert newcomer.get(path_of(link)).status_code == 404
    login = newcomer.post(
        "/login", data={"email": "new.person@acme.example", "password": NEW_PASSWORD}
    )
    assert login.status_code == 302
    assert newcomer.get("/signals").status_code == 200


def test_an_invitation_form_names_each_wrong_field(client, org_admin, make):
    org, _ = org_admin
    make.user(org, "staff", email="taken@acme.example")
    empty = client.post("/admin/users/invite", data={})
    assert empty.status_code == 422
    body = empty.get_data(as_text=True)
    assert "Enter the e-mail address of the person to invite." in body
    assert "Enter the person&#39;s name" in body
    bad = client.post(
        "/admin/users/invite", data={"email": "not-an-address", "name": "X", "role": "staff"}
    ).get_data(as_text=True)
    assert 'href="#email"' in bad and "Enter an e-mail address like name@example.org." in bad
    taken = client.post(
        "/admin/users/invite", data={"email": "taken@acme.example", "name": "X", "role": "staff"}
    ).get_data(as_text=True)
    assert "already exists" in taken
    role = client.post(
        "/admin/users/invite", data={"email": "x@acme.example", "name": "X", "role": "king"}
    )
    assert role.status_code == 422 and 'href="#role"' in role.get_data(as_text=True)


def test_a_new_invitation_link_replaces_the_old_one(app, client, org_admin, session):
    invited = {"email": "slow@acme.example", "name": "Slow", "role": "staff"}
    first = invitation_link(client.post("/admin/users/invite", data=invited).get_data(as_text=True))
    user_id = session.scalar(select(t.User.id).where(t.User.email == "slow@acme.example"))
    assert "Create a new invitation link" in client.get(f"/admin/users/{user_id}").get_data(
        as_text=True
    )
    resent = client.post(f"/admin/users/{user_id}/invitation")
    assert resent.status_code == 200
    body = resent.get_data(as_text=True)
    assert "New invitation link for Slow" in body and "earlier link no longer works" in body
    second = invitation_link(body)
    assert second != first
    visitor = app.test_client()
    assert visitor.get(path_of(first)).status_code == 404
    assert visitor.get(path_of(second)).status_code == 200


def test_no_new_link_for_someone_who_already_accepted(client, org_admin, make):
    org, _ = org_admin
    member = make.user(org, "staff", name="Sam")
    response = client.post(f"/admin/users/{member.id}/invitation", follow_redirects=True)
    assert "Sam has already accepted the invitation" in response.get_data(as_text=True)
    assert "Create a new invitation link" not in response.get_data(as_text=True)


# -- roles and access --------------------------------------------------------------------------


def test_changing_a_role_ends_the_users_sessions(app, client, org_admin, make, session):
    org, _ = org_admin
    member = make.user(org, "staff")
    their_browser = app.test_client()
    make.login(their_browser, member)
    assert their_browser.get("/signals").status_code == 403
    response = client.post(f"/admin/users/{member.id}", data={"role": "reviewer"})
    assert response.status_code == 302
    session.refresh(member)
    assert member.role == "reviewer"
    assert their_browser.get("/signals").status_code == 302
    make.login(their_browser, member)
    assert their_browser.get("/signals").status_code == 200


def test_an_admin_cannot_remove_their_own_admin_access(client, org_admin, session):
    _, me = org_admin
    response = client.post(f"/admin/users/{me.id}", data={"role": "staff"})
    assert response.status_code == 422
    assert "You cannot remove your own admin access." in response.get_data(as_text=True)
    refused = client.post(f"/admin/users/{me.id}/deactivate")
    assert refused.status_code == 422
    session.refresh(me)
    assert me.role == "admin" and me.active
    assert client.get("/admin/users").status_code == 200


def test_deactivation_asks_first_then_the_user_cannot_log_in(app, client, org_admin, make, session):
    org, _ = org_admin
    member = make.user(org, "staff", name="Dee")
    their_browser = app.test_client()
    make.login(their_browser, member)
    confirm = client.get(f"/admin/users/{member.id}/deactivate").get_data(as_text=True)
    assert "Deactivate Dee?" in confirm
    assert client.post(f"/admin/users/{member.id}/deactivate").status_code == 302
    session.refresh(member)
    assert not member.active
    assert their_browser.get("/processes").status_code == 302
    refused = app.test_client().post("/login", data={"email": member.email, "password": PASSWORD})
    assert refused.status_code == 401
    assert client.post(f"/admin/users/{member.id}/reactivate").status_code == 302
    assert (
        app.test_client()
        .post("/login", data={"email": member.email, "password": PASSWORD})
        .status_code
        == 302
    )


# -- organisation settings ---------------------------------------------------------------------


def test_an_admin_renames_the_organisation_and_switches_the_pulse_off(client, org_admin, session):
    org, _ = org_admin
    response = client.post("/admin/organisation", data={"name": "Acme Insurance"})
    assert response.status_code == 302
    session.refresh(org)
    assert org.name == "Acme Insurance" and not org.pulse_enabled
    assert "switched off" in client.get("/pulse").get_data(as_text=True)
    client.post("/admin/organisation", data={"name": "Acme Insurance", "pulse_enabled": "y"})
    session.refresh(org)
    assert org.pulse_enabled


def test_an_empty_organisation_name_is_named(client, org_admin):
    response = client.post("/admin/organisation", data={"name": "  "})
    assert response.status_code == 422
    assert "Give the organisation a name." in response.get_data(as_text=True)


# -- services ----------------------------------------------------------------------------------


def test_invitation_state_follows_password_and_expiry(make, session):
    org = make.org()
    boss = make.user(org, "admin")
    invited, _ = accounts.invite_user(session, boss, "i@acme.example", "I", "staff")
    assert admin.invitation_state(invited) == "pending"
    invited.invite_expires_at = t.utcnow().replace(year=2000)
    assert admin.invitation_state(invited) == "expired"
    assert admin.invitation_state(boss) == "accepted"


def test_reissuing_refuses_users_of_other_organisations(make, session):
    boss = make.user(make.org(), "admin")
    stranger_admin = make.user(make.org("Elsewhere"), "admin")
    invited, _ = accounts.invite_user(session, stranger_admin, "s@else.example", "S", "staff")
    session.commit()
    with pytest.raises(accounts.NotFound):
        admin.reissue_invite(session, boss, invited)
    assert session.scalar(select(t.User.invite_token_hash).where(t.User.id == invited.id))


@pytest.fixture
def guarded(database_url, tmp_path):
    """The app as it runs in production: CSRF protection on."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "x",
            "RENDER_CACHE_DIR": str(tmp_path),
            "RATELIMIT_ENABLED": False,
        }
    )
    yield app
    database.engine(app).dispose()


def test_admin_forms_without_a_csrf_token_are_refused(guarded, make, session):
    org = make.org()
    boss = make.user(org, "admin")
    browser = guarded.test_client()
    login_page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)
    token = token or re.search(r'name="csrf_token" value="([^"]+)"', login_page)
    browser.post(
        "/login", data={"email": boss.email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert browser.get("/admin/users").status_code == 200
    for url, data in (
        ("/admin/users/invite", {"email": "x@acme.example", "name": "X", "role": "staff"}),
        ("/admin/organisation", {"name": "Renamed"}),
        ("/pulse", {"score": "5"}),
    ):
        response = browser.post(url, data=data)
        assert response.status_code == 400, url
    session.refresh(org)
    assert org.name == "Acme"
    assert session.scalar(select(t.User.id).where(t.User.email == "x@acme.example")) is None
    assert session.scalar(select(t.PulseAnswer.id)) is None
