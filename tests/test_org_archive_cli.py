"""``leanlane export-organisation`` and ``import-organisation``, and the admin's download."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import select

from tests import test_web_cli
from tests.conftest import PASSWORD
from tests.org_archive_helpers import counts, normalised
from web.cli import main
from workflow.adapters import tables as t
from workflow.services.archive_file import unpack

#: The environment the commands read (the database of the test app).
cli_env = test_web_cli.cli_env


@pytest.fixture
def acme(make):
    org = make.org("Acme Claims")
    admin = make.user(org, "admin", email="boss@acme.example")
    make.model(org, author=admin)
    return org


def test_export_writes_a_private_archive_and_import_makes_a_new_organisation(
    cli_env, capsys, session, acme, tmp_path, client, make
):
    path = tmp_path / "acme.zip"
    assert main(["export-organisation", "acme-claims", "--output", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Wrote 'Acme Claims' to {path}" in out and "password" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert unpack(path.read_bytes()).manifest["organisation"]["name"] == "Acme Claims"

    code = main(["import-organisation", str(path), "--name", "Acme Copy", "--email-tag", "copy"])
    assert code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "Imported 'Acme Copy' as organisation" in out and "slug acme-copy" in out
    copy = session.scalar(select(t.Organisation).where(t.Organisation.slug == "acme-copy"))
    assert normalised(path.read_bytes())["processes"]
    user = session.scalar(select(t.User).where(t.User.org_id == copy.id))
    assert user.email == "boss+copy@acme.example"
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def test_the_organisation_can_be_named_by_id_and_an_existing_file_is_kept(
    cli_env, capsys, acme, tmp_path
):
    path = tmp_path / "kept.zip"
    path.write_bytes(b"precious")
    assert main(["export-organisation", str(acme.id), "-o", str(path)]) == 2
    assert "exists; choose another file or add --force" in capsys.readouterr().err
    assert path.read_bytes() == b"precious"
    assert main(["export-organisation", str(acme.id), "-o", str(path), "--force"]) == 0
    assert unpack(path.read_bytes()).manifest["organisation"]["id"] == acme.id


def test_an_unknown_organisation_is_a_clear_error(cli_env, capsys, acme, tmp_path):
    assert main(["export-organisation", "nobody", "-o", str(tmp_path / "x.zip")]) == 2
    assert "no organisation has the id, slug or name 'nobody'" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()


def test_a_refused_import_lists_the_problems_exits_2_and_writes_nothing(
    cli_env, capsys, session, acme, tmp_path
):
    path = tmp_path / "acme.zip"
    assert main(["export-organisation", "acme-claims", "-o", str(path)]) == 0
    capsys.readouterr()
    before = counts(session)
    assert main(["import-organisation", str(path)]) == 2
    err = capsys.readouterr().err
    assert "boss@acme.example already exists in this database" in err
    assert "nothing was imported" in err
    broken = tmp_path / "broken.zip"
    broken.write_bytes(path.read_bytes()[:100])
    assert main(["import-organisation", str(broken)]) == 2
    assert "not a complete zip file" in capsys.readouterr().err
    assert main(["import-organisation", str(tmp_path / "missing.zip")]) == 2
    assert "cannot read" in capsys.readouterr().err
    session.rollback()
    assert counts(session) == before


def test_an_admin_downloads_the_organisations_export(client, make, acme):
    admin = session_user(make, "boss@acme.example")
    make.login(client, admin)
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert "password hash" in page and "/admin/organisation/export" in page
    response = client.get("/admin/organisation/export")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="acme-claims-')
    archive = unpack(response.data)
    assert archive.manifest["organisation"] == {"id": acme.id, "name": "Acme Claims"}
    assert len(archive.tables["processes"].rows) == 2
    make.session.expire_all()
    event = make.session.scalar(
        select(t.AuditEvent).where(t.AuditEvent.action == "organisation.exported")
    )
    assert event is not None and event.org_id == acme.id and event.actor_id == admin.id


def session_user(make, email: str) -> t.User:
    return make.session.scalar(select(t.User).where(t.User.email == email))


def test_an_organisation_whose_rows_would_not_import_again_is_not_exported(
    cli_env, capsys, session, make, acme, tmp_path, client
):
    odd = make.user(acme, "staff", email="odd@acme.example")
    odd.role = "legacy"
    session.commit()
    path = tmp_path / "acme.zip"
    assert main(["export-organisation", "acme-claims", "-o", str(path)]) == 2
    err = capsys.readouterr().err
    assert "cannot be exported" in err and "role must be one of" in err
    assert not path.exists()
    make.login(client, session_user(make, "boss@acme.example"))
    response = client.get("/admin/organisation/export", follow_redirects=True)
    assert "cannot be exported" in response.get_data(as_text=True)
