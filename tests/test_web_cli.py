"""The web app's commands: a new organisation with its first admin, and passwords from the
terminal."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from web.cli import main
from workflow.adapters import tables as t


@pytest.fixture
def cli_env(app, monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LEANLANE_SECRET_KEY", "cli-test")
    monkeypatch.setenv("LEANLANE_RENDER_CACHE_DIR", str(tmp_path / "renders"))
    return monkeypatch


def test_a_new_organisation_gets_an_admin_who_sets_a_password_through_the_link(
    cli_env, capsys, client, session
):
    code = main(
        [
            "add-organisation",
            "Beta Ltd",
            "--admin-email",
            "Boss@Beta.example",
            "--url",
            "https://x.example/",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    link = re.search(r"https://x\.example(/invite/\S+)", out)
    assert link, out
    admin = session.scalar(select(t.User).where(t.User.email == "boss@beta.example"))
    assert admin.role == "admin" and admin.organisation.name == "Beta Ltd"
    done = client.post(
        link.group(1), data={"password": "a long secret", "confirm": "a long secret"}
    )
    assert done.status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_a_bad_admin_address_is_refused_and_nothing_is_created(cli_env, capsys, session):
    assert main(["add-organisation", "Gamma", "--admin-email", "not-an-address"]) == 2
    assert "e-mail address" in capsys.readouterr().err
    assert session.scalar(select(t.Organisation.id)) is None


@pytest.mark.parametrize(
    "address, words",
    [
        ("<svg/onload=alert(1)>@x.org", "the character “<”"),
        ("boss@x.org\u202e", "direction-changing characters (U+202E)"),
    ],
)
def test_a_hostile_admin_address_is_refused_saying_what_is_wrong(
    cli_env, capsys, session, address, words
):
    assert main(["add-organisation", "Gamma", "--admin-email", address]) == 2
    err = capsys.readouterr().err
    assert "An e-mail address cannot contain" in err and words in err
    assert session.scalar(select(t.Organisation.id)) is None


def test_set_password_from_standard_input(cli_env, capsys, make, client, monkeypatch):
    user = make.user(make.org(), "staff")
    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new secret\n"))
    assert main(["set-password", user.email, "--stdin"]) == 0
    assert "changed" in capsys.readouterr().out
    response = client.post("/login", data={"email": user.email, "password": "a brand new secret"})
    assert response.status_code == 302


def test_set_password_refuses_a_short_password_and_an_unknown_user(
    cli_env, capsys, make, monkeypatch
):
    user = make.user(make.org(), "staff")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["set-password", user.email, "--stdin"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough one\n"))
    assert main(["set-password", "nobody@x.example", "--stdin"]) == 2
    assert "no user has the e-mail address" in capsys.readouterr().err
