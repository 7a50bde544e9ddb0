"""The audit trail: written with the change or not at all, free of secrets, kept after its
actor and process are gone, and read by admins on a filtered, paged, escaped page and as CSV.

Which routes record which events is swept in test_audit_sweep.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from tests import test_web_cli
from tests.helpers import line, step
from web import database, rendering
from web.cli import main
from workflow.adapters import tables as t
from workflow.services import api_tokens, audit, imports, jobs, processes
from workflow.vocabulary import Perspective


def _events(session, **where) -> list[t.AuditEvent]:
    session.expire_all()
    query = select(t.AuditEvent).order_by(t.AuditEvent.id)
    for name, value in where.items():
        query = query.where(getattr(t.AuditEvent, name) == value)
    return list(session.scalars(query))


def _forget_setup(session) -> None:
    """Drop the events of arranging a test (creating its users), so it sees only its own."""
    session.execute(delete(t.AuditEvent))
    session.commit()


def _new_process(session, org, author, key: str = "kyc", name: str = "Know your customer"):
    return processes.create_process(
        session,
        org.id,
        author.id if author else None,
        key=key,
        name=name,
        perspective=Perspective.EMPLOYEE_PROCESS,
        process=replace(line(step("check"), step("approve")), name=name),
    )


def _note(session, org, actor, action: str = "process.version_saved", **fields) -> None:
    fields.setdefault("summary", "Saved something")
    audit.record(
        session,
        org_id=org.id,
        actor_id=actor.id if actor else None,
        action=action,
        subject_kind=fields.pop("subject_kind", "process"),
        **fields,
    )


# --- writing --------------------------------------------------------------------------------
def test_an_event_is_written_with_its_change_and_rolled_back_with_it(session, make):
    org = make.org()
    owner = make.user(org, "owner", name="Olu Owner")
    _forget_setup(session)
    _new_process(session, org, owner)
    session.rollback()
    assert _events(session) == []
    assert session.scalar(select(func.count()).select_from(t.Process)) == 0
    row = _new_process(session, org, owner)
    session.commit()
    [event] = _events(session)
    assert (event.action, event.org_id, event.actor_id) == ("process.created", org.id, owner.id)
    assert (event.actor_name, event.actor_email) == ("Olu Owner", owner.email)
    assert (event.subject_kind, event.subject_id, event.process_id) == (
        "process",
        str(row.id),
        row.id,
    )
    assert audit.details_of(event) == {"version": 1, "base_version": 0}


def test_an_unknown_action_is_a_mistake_in_the_code(session, make):
    org = make.org()
    with pytest.raises(ValueError, match="Unknown audit action"):
        _note(session, org, None, action="process.teleported")


SECRET_KEYS = st.builds(
    lambda before, word, after: before + word + after,
    st.text(alphabet="abcdefghij_", max_size=6),
    st.sampled_from(audit.SECRET_WORDS).map(lambda w: w.upper() if len(w) % 2 else w),
    st.text(alphabet="abcdefghij_", max_size=6),
)
PLAIN_KEYS = st.text(alphabet="abcdefgijklmnqruvwxyz_", min_size=1, max_size=12).filter(
    lambda key: not any(word in key for word in audit.SECRET_WORDS)
)
VALUES = st.one_of(st.integers(), st.text(max_size=30), st.booleans(), st.none())


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=SECRET_KEYS, plain=st.dictionaries(PLAIN_KEYS, VALUES, max_size=4))
def test_details_named_like_a_secret_are_refused_and_others_read_back(session, make, secret, plain):
    org = session.scalar(select(t.Organisation)) or make.org()
    with pytest.raises(ValueError, match="must not hold secrets"):
        _note(session, org, None, details={**plain, secret: "x"})
    event = t.AuditEvent(details=json.dumps(plain))
    assert audit.details_of(event) == plain
    session.rollback()


def test_no_event_holds_a_password_token_or_hash(client, session, make):
    """After every kind of account change, no secret appears anywhere in the trail."""
    org = make.org()
    admin = make.user(org, "admin")
    make.login(client, admin)
    client.post(
        "/admin/users/invite", data={"email": "ivy@acme.example", "name": "Ivy", "role": "staff"}
    )
    made = client.post("/account/tokens", data={"name": "Sync", "expires": ""})
    plain = re.search(r"ll_[A-Za-z0-9_-]{20,}", made.get_data(as_text=True)).group(0)
    client.post(
        "/account",
        data={
            "current": "correct horse battery",
            "password": "another passphrase",
            "confirm": "another passphrase",
        },
    )
    session.expire_all()
    user = session.get(t.User, admin.id)
    secrets = [plain, user.password_hash, "another passphrase", api_tokens._hash(plain)]
    secrets += [u.invite_token_hash for u in session.scalars(select(t.User)) if u.invite_token_hash]
    trail = " ".join(f"{e.summary} {e.details} {e.subject_id}" for e in _events(session))
    assert {e.action for e in _events(session)} >= {
        "user.invited",
        "api_token.created",
        "user.password_changed",
    }
    assert [s for s in secrets if s and s in trail] == []


def test_the_record_outlives_its_actor_and_its_process(session, make):
    org = make.org()
    owner = make.user(org, "owner", name="Olu Owner")
    admin = make.user(org, "admin")
    row = _new_process(session, org, owner)
    session.commit()
    processes.delete_process(session, row, actor_id=admin.id)
    session.delete(session.get(t.User, owner.id))
    session.commit()
    created = _events(session, action="process.created")[0]
    assert (created.actor_id, created.actor_name, created.actor_email) == (
        None,
        "Olu Owner",
        owner.email,
    )
    assert created.process_id is None and created.subject_id == str(row.id)
    deleted = _events(session, action="process.deleted")[0]
    assert deleted.actor_id == admin.id and "Know your customer (kyc)" in deleted.summary


@pytest.mark.parametrize(
    ("payload", "status", "expected"),
    [
        (b"name\nCheck ID\nOpen account\n", "done", ["process.created"]),
        (b"name,touch_minutes\nCheck,ten\n", "failed", []),
    ],
)
def test_an_import_job_records_what_it_made_for_the_uploader_or_nothing(
    app, session, make, payload, status, expected
):
    org = make.org()
    owner = make.user(org, "owner")
    _forget_setup(session)
    job = jobs.submit(
        session,
        None,
        org_id=org.id,
        user_id=owner.id,
        kind=imports.STEPS_CSV,
        params={"filename": "onboarding.csv", "name": "Onboarding"},
        payload=payload,
    )
    session.commit()
    context = jobs.JobContext(
        database.session_factory(app), rendering.renderer(app), rendering.STEP_URL
    )
    assert jobs.run(job.id, context) == status
    events = _events(session)
    assert [e.action for e in events] == expected
    for event in events:
        assert (event.actor_id, event.org_id) == (owner.id, org.id)
        assert "Onboarding" in event.summary


def test_changes_through_the_api_are_recorded_for_the_tokens_user(client, session, make):
    org = make.org()
    owner = make.user(org, "owner")
    _row, plain = api_tokens.create_token(session, owner, "Script")
    session.commit()
    _forget_setup(session)
    headers = {"Authorization": f"Bearer {plain}"}
    created = client.post(
        "/api/v1/processes",
        json={"key": "refunds", "name": "Refunds", "perspective": "employee_process"},
        headers=headers,
    )
    assert created.status_code == 201
    again = client.post(
        "/api/v1/processes",
        json={"key": "refunds", "name": "Again", "perspective": "employee_process"},
        headers=headers,
    )
    assert again.status_code == 422
    gone = client.delete(f"/api/v1/processes/{created.get_json()['id']}", headers=headers)
    assert gone.status_code == 204
    assert [(e.action, e.actor_id) for e in _events(session)] == [
        ("process.created", owner.id),
        ("process.deleted", owner.id),
    ]


def _old_and_new(session, orgs, old: dt.datetime) -> None:
    """Only an event summed up "old" (at ``old``) and one "new" (now) in each organisation."""
    _forget_setup(session)
    for org in orgs:
        _note(session, org, None, summary="old")
        _note(session, org, None, summary="new")
    session.flush()
    for event in session.scalars(select(t.AuditEvent).where(t.AuditEvent.summary == "old")):
        event.created_at = old
    session.commit()


def test_prune_deletes_only_older_events_of_the_chosen_organisation(session, make):
    first, second = make.org("First"), make.org("Second")
    _old_and_new(session, [first, second], dt.datetime(2020, 1, 1))
    assert audit.prune(session, dt.datetime(2021, 1, 1), org_id=first.id) == 1
    session.commit()
    left = sorted((e.org_id, e.summary) for e in _events(session))
    assert left == sorted([(first.id, "new"), (second.id, "new"), (second.id, "old")])
    assert audit.prune(session, dt.datetime(2021, 1, 1)) == 1


# --- the activity page ------------------------------------------------------------------------
@pytest.fixture
def admin_client(client, make, session):
    org = make.org("Acme")
    admin = make.user(org, "admin", name="Ada Admin")
    make.login(client, admin)
    _forget_setup(session)
    return client, org, admin


def test_an_organisation_without_events_says_so(admin_client):
    client, _org, _admin = admin_client
    page = client.get("/admin/activity").get_data(as_text=True)
    assert "Nothing has been changed yet." in page
    assert "<table" not in page


def test_events_are_listed_newest_first_a_page_at_a_time(admin_client, session):
    client, org, admin = admin_client
    for number in range(1, audit.EVENTS_PER_PAGE * 2 + 21):
        _note(session, org, admin, summary=f"Change number {number}.")
    session.commit()
    first = client.get("/admin/activity").get_data(as_text=True)
    numbers = [int(n) for n in re.findall(r"Change number (\d+)\.", first)]
    assert numbers == list(range(120, 70, -1))
    assert "Page 1 of 3 · 120 events" in first and 'rel="prev"' not in first
    last = client.get("/admin/activity?page=3").get_data(as_text=True)
    assert [int(n) for n in re.findall(r"Change number (\d+)\.", last)] == list(range(20, 0, -1))
    assert 'rel="next"' not in last
    beyond = client.get("/admin/activity?page=99").get_data(as_text=True)
    assert "Page 3 of 3" in beyond
    assert "Page 1 of 3" in client.get("/admin/activity?page=nonsense").get_data(as_text=True)


def test_filters_narrow_the_list_and_survive_paging(admin_client, session, make):
    client, org, admin = admin_client
    owner = make.user(org, "owner", name="Olu Owner")
    kyc = _new_process(session, org, owner)
    other = _new_process(session, org, owner, key="refunds", name="Refunds")
    processes.delete_process(session, other, actor_id=admin.id)
    _note(session, org, None, action="outbox.sent", summary="Sent by the command line")
    for number in range(60):
        _note(session, org, admin, action="user.role_changed", summary=f"Role {number}.")
    session.commit()

    def shown(query: str) -> str:
        response = client.get(f"/admin/activity?{query}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    by_owner = shown(f"person={owner.id}")
    assert "Know your customer, version 1" in by_owner and "Role 1." not in by_owner
    assert "Sent by the command line" in shown("person=nobody")
    assert "Sent by the command line" not in shown(f"person={admin.id}")
    exact = shown("action=process.deleted")
    assert "Deleted Refunds" in exact and "Know your customer, version" not in exact
    area = shown("action=process")
    assert "Deleted Refunds" in area and "Know your customer, version 1" in area
    assert "Role 1." not in area
    by_process = shown(f"process={kyc.id}")
    assert "Know your customer" in by_process and "Refunds" not in by_process.split("<table")[1]
    paged = shown(f"action=user.role_changed&person={admin.id}")
    assert "Role 59." in paged and "Role 0." not in paged and "Page 1 of 2" in paged
    following = re.search(r'href="([^"]+)" rel="next"', paged).group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(following).query)
    assert query == {"page": ["2"], "person": [str(admin.id)], "action": ["user.role_changed"]}
    assert "Role 0." in shown(urlsplit(following).query)
    assert "Every action" in shown("action=no.such&person=abc")
    assert "Nothing matches these filters." in shown(f"process={kyc.id}&action=outbox")


def test_another_organisations_events_people_and_processes_never_show(admin_client, session, make):
    client, org, admin = admin_client
    elsewhere = make.org("Elsewhere")
    stranger = make.user(elsewhere, "owner", name="Sam Stranger")
    their = _new_process(session, elsewhere, stranger, key="secret", name="Secret plan")
    _note(session, org, admin, summary="Our own change")
    session.commit()
    page = client.get("/admin/activity").get_data(as_text=True)
    assert "Our own change" in page
    assert "Secret plan" not in page and "Sam Stranger" not in page
    assert client.get(f"/admin/activity?process={their.id}").status_code == 404
    assert client.get(f"/admin/activity?person={stranger.id}").status_code == 404
    assert client.get(f"/admin/activity.csv?process={their.id}").status_code == 404
    assert "Secret plan" not in client.get("/admin/activity.csv").get_data(as_text=True)


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_hostile_text_is_escaped_on_the_page(admin_client, session, make):
    client, org, _admin = admin_client
    rogue = make.user(org, "owner", name=HOSTILE)
    _note(session, org, rogue, summary=HOSTILE, details={"new_name": HOSTILE, "list": [HOSTILE]})
    session.commit()
    page = client.get("/admin/activity").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_the_csv_download_is_the_filtered_list_with_formulas_defused(admin_client, session, make):
    client, org, admin = admin_client
    rogue = make.user(org, "owner", name='=HYPERLINK("http://evil")')
    _note(session, org, rogue, summary="+SUM(A1:A9)", details={"changed": ["name"]})
    _note(session, org, admin, action="user.role_changed", summary="-1 role")
    session.commit()
    response = client.get(f"/admin/activity.csv?person={rogue.id}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == list(audit.CSV_COLUMNS)
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["actor_name"] == '\'=HYPERLINK("http://evil")'
    assert record["summary"] == "'+SUM(A1:A9)"
    assert json.loads(record["details"]) == {"changed": ["name"]}
    everything = client.get("/admin/activity.csv").get_data(as_text=True)
    assert "'-1 role" in everything


def test_admins_reach_a_process_activity_from_its_history(client, session, make):
    org = make.org()
    admin, owner = make.user(org, "admin"), make.user(org, "owner")
    row = _new_process(session, org, owner)
    session.commit()
    link = f'href="/admin/activity?process={row.id}"'
    make.login(client, admin)
    assert link in client.get(f"/processes/{row.id}/history").get_data(as_text=True)
    other = client.application.test_client()
    make.login(other, owner)
    assert link not in other.get(f"/processes/{row.id}/history").get_data(as_text=True)


# --- pruning from the command line ----------------------------------------------------------
cli_env = test_web_cli.cli_env


def test_prune_audit_deletes_events_before_the_day_and_says_how_many(
    cli_env, capsys, session, make
):
    acme, other = make.org("Acme"), make.org("Other")
    _old_and_new(session, [acme, other], dt.datetime(2025, 12, 31, 23, 59))
    assert main(["prune-audit", "--before", "2026-01-01", "--org", acme.slug]) == 0
    assert "Deleted 1 audit event(s) of acme from before 2026-01-01." in capsys.readouterr().out
    assert sorted(e.summary for e in _events(session, org_id=acme.id)) == ["new"]
    assert main(["prune-audit", "--before", "2025-12-31"]) == 0
    assert "Deleted 0 audit event(s)" in capsys.readouterr().out
    assert main(["prune-audit", "--before", "2026-01-01"]) == 0
    assert sorted(e.summary for e in _events(session)) == ["new", "new"]


def test_prune_audit_refuses_a_future_day_an_unknown_organisation_and_a_bad_date(
    cli_env, capsys, session, make
):
    org = make.org("Acme")
    _note(session, org, None)
    session.commit()
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    assert main(["prune-audit", "--before", tomorrow]) == 2
    assert "lies in the future" in capsys.readouterr().err
    assert main(["prune-audit", "--before", "2026-01-01", "--org", "nowhere"]) == 2
    assert "no organisation has the slug 'nowhere'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["prune-audit", "--before", "31/01/2026"])
    assert exited.value.code == 2
    assert "is not a date like 2026-01-31" in capsys.readouterr().err
    assert len(_events(session)) == 1
