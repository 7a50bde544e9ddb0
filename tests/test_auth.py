"""Logging in and out, sessions that really end, invitations and password changes."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from web import create_app, database
from workflow.adapters.database import head_revision
from workflow.services import accounts


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/processes")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/processes")


def test_a_user_logs_in_and_sees_the_process_list(client, make):
    org = make.org()
    user = make.user(org, "owner")
    make.login(client, user)
    page = client.get("/processes")
    assert page.status_code == 200
    assert user.name in page.get_data(as_text=True)


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make):
    user = make.user(make.org(), "staff")
    response = client.post("/login", data={"email": user.email, "password": "nope"})
    assert response.status_code == 401
    assert "do not match an active account" in response.get_data(as_text=True)
    unknown = client.post("/login", data={"email": "who@x.example", "password": "nope"})
    assert unknown.status_code == 401


def test_an_empty_login_form_names_the_missing_fields(client):
    response = client.post("/login", data={})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Enter your e-mail address." in body and "Enter your password." in body


def test_a_cookie_copied_before_logout_no_longer_works_after_it(app, make):
    user = make.user(make.org(), "staff")
    browser = app.test_client()
    make.login(browser, user)
    stolen = browser.get_cookie("leanlane_session").value
    assert browser.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("leanlane_session", stolen)
    assert thief.get("/processes").status_code == 302


def test_login_starts_a_new_session_instead_of_reusing_the_old_one(client, make):
    user = make.user(make.org(), "staff")
    client.get("/login")
    with client.session_transaction() as before:
        before["planted"] = "by an attacker"
    make.login(client, user)
    with client.session_transaction() as after:
        assert "planted" not in after


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_login_never_redirects_off_the_site(client, make, target):
    user = make.user(make.org(), "staff")
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_returns_to_the_page_asked_for(client, make):
    user = make.user(make.org(), "staff")
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "next": "/account"}
    )
    assert response.headers["Location"] == "/account"


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(app, make):
    user = make.user(make.org(), "staff")
    first, second = app.test_client(), app.test_client()
    make.login(first, user)
    make.login(second, user)
    wrong = first.post(
        "/account", data={"current": "bad", "password": "a" * 12, "confirm": "a" * 12}
    )
    assert "This is not your current password." in wrong.get_data(as_text=True)
    done = first.post(
        "/account", data={"current": PASSWORD, "password": "b" * 12, "confirm": "b" * 12}
    )
    assert done.status_code == 302
    assert first.get("/account").status_code == 200
    assert second.get("/account").status_code == 302


def test_an_invited_user_sets_a_password_and_is_logged_in(client, make, session):
    org = make.org()
    admin = make.user(org, "admin")
    _invited, token = accounts.invite_user(session, admin, "new@acme.example", "New", "staff")
    session.commit()
    assert client.get(f"/invite/{token}").status_code == 200
    short = client.post(f"/invite/{token}", data={"password": "short", "confirm": "short"})
    assert short.status_code == 422
    done = client.post(
        f"/invite/{token}", data={"password": "a long secret", "confirm": "a long secret"}
    )
    assert done.status_code == 302
    assert client.get("/account").status_code == 200
    assert client.get(f"/invite/{token}").status_code == 404


def test_an_unknown_invitation_is_not_found(client):
    assert client.get("/invite/not-a-token").status_code == 404


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "base-uri" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_session_cookie_is_http_only_and_same_site(client, make):
    user = make.user(make.org(), "staff")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forms_without_a_csrf_token_are_refused(database_url, tmp_path, make):
    guarded = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "x",
            "RENDER_CACHE_DIR": str(tmp_path),
        }
    )
    user = make.user(make.org(), "staff")
    try:
        response = guarded.test_client().post(
            "/login", data={"email": user.email, "password": PASSWORD}
        )
    finally:
        database.engine(guarded).dispose()
    assert response.status_code == 400
    assert "The form had expired" in response.get_data(as_text=True)


def test_the_health_check_reads_the_schema_revision_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "schema": head_revision()}


def test_browsers_asking_for_a_favicon_get_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response.headers["Location"])
    icon.close()
    assert icon.status_code == 200


def test_an_id_too_large_for_the_database_is_simply_not_found(client, make):
    make.login(client, make.user(make.org(), "staff"))
    assert client.get("/processes/9223372036854775808").status_code == 404
    assert client.get("/processes/2147483648").status_code == 404


def test_unknown_api_paths_answer_in_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"]
    wrong_method = client.delete("/api/v1/openapi.json")
    assert wrong_method.status_code == 405
    assert "error" in wrong_method.get_json()
