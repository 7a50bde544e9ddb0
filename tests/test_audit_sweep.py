"""Every state-changing form of the app leaves exactly the audit events it should.

The table below names, for each POST route of the browser app, who sends it, a valid form, the
actions its success records (none for the signals that are records of their own), and a
refused form. Each case checks that the success records those events with the right actor and
organisation, and that the refusal, and the same form sent by a role the policy refuses,
record nothing. A new POST route fails the first test until it is placed in the table.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from tests.conftest import MODELS, PASSWORD
from tests.helpers import flow, process, step
from web import create_app, database
from web.imports import RUNNER
from workflow.adapters import tables as t
from workflow.services import accounts, api_tokens, imports, jobs, members, outbox, processes
from workflow.vocabulary import Perspective, StepKind

LOG_CSV = Path(__file__).resolve().parent / "data" / "eventlogs" / "running-example.csv"
STATUS_UPDATES = "file_claim.proactive_status.status_q"
NEW_PASSWORD = "a brand new passphrase"

#: A small process every editor form can change: check branches to approve or straight to end.
SMALL = process(
    [
        step("start", StepKind.START, lane="clerk"),
        step("check", lane="clerk"),
        step("approve", lane="boss"),
        step("end", StepKind.END, lane="clerk"),
    ],
    [
        flow("start", "check"),
        flow("check", "approve", 0.5),
        flow("check", "end", 0.5),
        flow("approve", "end"),
    ],
    id="kyc",
    name="Know your customer",
)


class Recorder:
    """A job runner that only notes the jobs it is asked to start."""

    def __init__(self) -> None:
        self.started: list[int] = []

    def start(self, job_id: int, queued_at=None) -> None:
        self.started.append(job_id)


def _flag(org, row, step_id: str, *, source: str = "staff", **fields) -> t.Flag:
    return t.Flag(
        org_id=org.id,
        process_id=row.id,
        step_id=step_id,
        step_name=step_id.replace("_", " ").title(),
        source=source,
        category="waiting",
        severity=3,
        **fields,
    )


def _world(app, session, make) -> SimpleNamespace:
    org = make.org("Acme")
    users = {
        role: make.user(org, role, name=f"{role.title()} Person")
        for role in ("staff", "owner", "reviewer", "admin")
    }
    colleague = make.user(org, "staff", name="Colleague")
    leaver = make.user(org, "staff", name="Leaver")
    rows = make.model(org)
    kyc = processes.create_process(
        session,
        org.id,
        users["owner"].id,
        key="kyc",
        name="Know your customer",
        perspective=Perspective.EMPLOYEE_PROCESS,
        process=SMALL,
    )
    processes.save_version(
        session, kyc, SMALL, author_id=users["owner"].id, summary="Second", base_version=1
    )
    members.add_member(session, kyc, colleague, actor_id=None)
    accounts.set_role(session, users["admin"], leaver, "staff", False)
    _, invite_token = accounts.invite_user(
        session, users["admin"], "newcomer@acme.example", "Newcomer", "staff"
    )
    token, _plain = api_tokens.create_token(session, users["staff"], "Script")
    outbox.queue_message(session, org.id, "customer@acme.example", "Hello", "Body", None)
    journey, claims = rows["file_claim"], rows["claims"]
    journey_flag = _flag(org, journey, "claim_form", source="customer", text="Asked twice")
    own_flag = _flag(org, claims, "register", author_id=users["staff"].id)
    colleague_flag = _flag(org, claims, "register", author_id=colleague.id)
    session.add_all([journey_flag, own_flag, colleague_flag])
    waiting_log = imports.begin_import(
        session,
        Recorder(),
        org_id=org.id,
        user_id=users["owner"].id,
        filename="running-example.csv",
        data=LOG_CSV.read_bytes(),
    )
    stopped = jobs.submit(
        session,
        None,
        org_id=org.id,
        user_id=users["owner"].id,
        kind=imports.STEPS_CSV,
        params={"filename": "steps.csv"},
        payload=b"name\nCheck\n",
    )
    stopped.status = jobs.FAILED
    session.commit()
    return SimpleNamespace(
        stopped=stopped,
        org=org,
        users=users,
        colleague=colleague,
        leaver=leaver,
        kyc=kyc,
        journey=journey,
        claims=claims,
        journey_flag=journey_flag,
        own_flag=own_flag,
        colleague_flag=colleague_flag,
        invite_token=invite_token,
        api_token=token,
        invitee=session.scalar(select(t.User).where(t.User.email == "newcomer@acme.example")),
        waiting_log=waiting_log,
    )


Data = Callable[[SimpleNamespace], dict]


@dataclass(frozen=True)
class Case:
    """One POST route: ``role`` sends ``data`` to ``path``; success records ``expected``.

    ``refused`` is a form the route turns down (None when input cannot be wrong);
    ``forbidden`` a role the access policy refuses (None when every role may send it).
    """

    role: str | None
    path: Callable[[SimpleNamespace], str]
    data: Data
    expected: tuple[str, ...]
    refused: Data | None = None
    forbidden: str | None = None
    multipart: bool = False
    #: The HTTP statuses of the refusal: the form again with its errors, or a redirect that
    #: flashes why (moving a step).
    refused_status: tuple[int, ...] = (403, 404, 409, 422)
    #: Sent first by the same role (e.g. accepting a proposal before applying it).
    before: tuple[tuple[Callable[[SimpleNamespace], str], Data], ...] = field(default=())


def _kyc(suffix: str) -> Callable[[SimpleNamespace], str]:
    return lambda w: f"/processes/{w.kyc.id}{suffix}"


def _editor(
    suffix: str,
    fields: dict,
    *,
    expected=("process.version_saved",),
    refused_status: tuple[int, ...] = (409,),
) -> Case:
    """An editing form of the small process: a form of an older version is its refusal."""
    return Case(
        "owner",
        _kyc(suffix),
        lambda w: {"base_version": 2, **fields},
        expected,
        refused=lambda w: {"base_version": 1, **fields},
        forbidden="staff",
        refused_status=refused_status,
    )


def _review(suffix: str) -> Callable[[SimpleNamespace], str]:
    return lambda w: f"/review/{w.journey.id}{suffix}"


def _upload(name: str, content: bytes) -> dict:
    return {"file": (io.BytesIO(content), name)}


ACCEPT = (
    _review(f"/proposals/{STATUS_UPDATES}/decision"),
    lambda w: {
        "decision": "accept",
        "version": 1,
    },
)

CASES: dict[str, Case] = {
    # --- processes and their editor ---------------------------------------------------------
    "owners.new": Case(
        "owner",
        lambda w: "/processes/new",
        lambda w: {"name": "Open an account", "perspective": "customer_journey"},
        ("process.created",),
        refused=lambda w: {"name": "", "perspective": "employee_process"},
        forbidden="staff",
    ),
    "owners.import_model": Case(
        "owner",
        lambda w: "/processes/import",
        lambda w: _upload("claims.yaml", (MODELS / "insurance_claim.yaml").read_bytes()),
        ("process.version_saved", "process.version_saved"),
        refused=lambda w: _upload("broken.yaml", b"name: [oops"),
        forbidden="staff",
        multipart=True,
    ),
    "owners.properties": _editor(
        "/edit/properties",
        {"name": "KYC checks", "perspective": "employee_process", "volume": "500"},
    ),
    "owners.add_step": _editor(
        "/edit/steps/new", {"name": "Check ID", "place": "approve>end", "kind": "task"}
    ),
    "owners.edit_step": _editor(
        "/edit/steps/check", {"name": "Check", "id": "check", "kind": "task", "touch_minutes": "7"}
    ),
    "owners.delete_step": _editor("/edit/steps/approve/delete", {}),
    "owners.move_step": _editor(
        "/edit/steps/approve/move", {"direction": "up"}, refused_status=(302,)
    ),
    "owners.add_flow": _editor("/edit/flows/new", {"source": "start", "target": "approve"}),
    "owners.edit_exits": _editor(
        "/edit/steps/check/exits",
        {
            "exits-0-target": "approve",
            "exits-0-probability": "0.3",
            "exits-1-target": "end",
            "exits-1-probability": "0.7",
        },
    ),
    "owners.add_lane": _editor(
        "/edit/lanes/new", {"name": "Auditor", "kind": "role", "cost_per_hour": "40"}
    ),
    "owners.edit_lane": _editor(
        "/edit/lanes/clerk",
        {"name": "Agent", "id": "agent", "kind": "team", "cost_per_hour": "55"},
    ),
    "owners.delete_lane": _editor("/edit/lanes/system/delete", {}),
    "owners.restore": _editor("/history/1/restore", {}, expected=("process.version_restored",)),
    "owners.links": Case(
        "owner",
        lambda w: f"/processes/{w.journey.id}/edit/links/report",
        lambda w: {"served": [f"{w.claims.id}:register"]},
        ("process.links_saved",),
        refused=lambda w: {"served": ["999999:nowhere"]},
        forbidden="staff",
    ),
    "owners.add_member": Case(
        "owner",
        _kyc("/edit/members"),
        lambda w: {"user": str(w.users["staff"].id)},
        ("process.member_added",),
        refused=lambda w: {"user": str(w.colleague.id)},
        forbidden="staff",
    ),
    "owners.remove_member": Case(
        "owner",
        lambda w: f"/processes/{w.kyc.id}/edit/members/{w.colleague.id}/remove",
        lambda w: {},
        ("process.member_removed",),
        forbidden="staff",
    ),
    "owners.delete": Case(
        "owner",
        _kyc("/delete"),
        lambda w: {"confirm": "y"},
        ("process.deleted",),
        refused=lambda w: {},
        forbidden="staff",
    ),
    # --- imports: the upload and its options are the job's record; the job's processes are
    # recorded when it runs (test_audit.py) -----------------------------------------------------
    "imports.upload": Case(
        "owner",
        lambda w: "/processes/import/file",
        lambda w: {**_upload("steps.csv", b"name\nCheck\nApprove\n"), "kind": "auto"},
        (),
        forbidden="staff",
        multipart=True,
    ),
    "imports.options": Case(
        "owner",
        lambda w: f"/jobs/{w.waiting_log.id}/options",
        lambda w: {
            "case": "case:concept:name",
            "activity": "concept:name",
            "time": "time:timestamp",
            "start": "",
            "resource": "",
            "role": "",
            "keep": "100",
        },
        (),
        forbidden="staff",
    ),
    "imports.retry": Case(
        "owner", lambda w: f"/jobs/{w.stopped.id}/retry", lambda w: {}, (), forbidden="staff"
    ),
    "imports.cancel": Case(
        "owner", lambda w: f"/jobs/{w.waiting_log.id}/cancel", lambda w: {}, (), forbidden="staff"
    ),
    # --- review ---------------------------------------------------------------------------------
    "review.flag_status": Case(
        "reviewer",
        lambda w: f"/review/{w.journey.id}/flags/{w.journey_flag.id}/status",
        lambda w: {"status": "wont_fix", "reason": "Required by law."},
        ("flag.status_set",),
        refused=lambda w: {"status": "addressed", "reason": "  "},
        forbidden="owner",
    ),
    "review.flag_link": Case(
        "reviewer",
        lambda w: f"/review/{w.journey.id}/flags/{w.journey_flag.id}/link",
        lambda w: {"proposal": STATUS_UPDATES, "version": 1},
        ("flag.linked",),
        refused=lambda w: {"proposal": "no.such.proposal", "version": 1},
        forbidden="owner",
    ),
    "review.comment": Case(
        "reviewer",
        _review(f"/proposals/{STATUS_UPDATES}/comments"),
        lambda w: {"text": "SMS costs money.", "version": 1},
        ("proposal.commented",),
        refused=lambda w: {"text": "  ", "version": 1},
        forbidden="staff",
    ),
    "review.decision": Case(
        "reviewer",
        _review(f"/proposals/{STATUS_UPDATES}/decision"),
        lambda w: {"decision": "reject", "reason": "Too costly.", "version": 1},
        ("proposal.rejected",),
        refused=lambda w: {"decision": "reject", "reason": "", "version": 1},
        forbidden="owner",
    ),
    "review.apply": Case(
        "reviewer",
        _review("/apply"),
        lambda w: {"version": 1},
        ("proposal.applied",),
        refused=lambda w: {"version": 7},
        forbidden="owner",
        before=(ACCEPT,),
    ),
    "review.outbox_send": Case(
        "reviewer",
        lambda w: "/review/outbox/send",
        lambda w: {},
        ("outbox.sent",),
        forbidden="owner",
    ),
    # --- administration -------------------------------------------------------------------------
    "admin.invite": Case(
        "admin",
        lambda w: "/admin/users/invite",
        lambda w: {"email": "ivy@acme.example", "name": "Ivy", "role": "owner"},
        ("user.invited",),
        refused=lambda w: {"email": "not-an-address", "name": "Ivy", "role": "owner"},
        forbidden="owner",
    ),
    "admin.user": Case(
        "admin",
        lambda w: f"/admin/users/{w.users['staff'].id}",
        lambda w: {"role": "reviewer"},
        ("user.role_changed",),
        refused=lambda w: {"role": "king"},
        forbidden="owner",
    ),
    "admin.deactivate": Case(
        "admin",
        lambda w: f"/admin/users/{w.users['staff'].id}/deactivate",
        lambda w: {},
        ("user.deactivated",),
        forbidden="owner",
    ),
    "admin.reactivate": Case(
        "admin",
        lambda w: f"/admin/users/{w.leaver.id}/reactivate",
        lambda w: {},
        ("user.reactivated",),
        forbidden="owner",
    ),
    "admin.resend": Case(
        "admin",
        lambda w: f"/admin/users/{w.invitee.id}/invitation",
        lambda w: {},
        ("user.invitation_renewed",),
        forbidden="owner",
    ),
    "admin.organisation": Case(
        "admin",
        lambda w: "/admin/organisation",
        lambda w: {"name": "Acme Insurance"},
        ("organisation.updated",),
        refused=lambda w: {"name": "  "},
        forbidden="owner",
    ),
    # --- one's own account ----------------------------------------------------------------------
    "auth.account": Case(
        "staff",
        lambda w: "/account",
        lambda w: {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        ("user.password_changed",),
        refused=lambda w: {"current": "wrong", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    ),
    "auth.tokens": Case(
        "staff",
        lambda w: "/account/tokens",
        lambda w: {"name": "Nightly sync", "expires": ""},
        ("api_token.created",),
        refused=lambda w: {"name": "", "expires": ""},
    ),
    "auth.revoke_token": Case(
        "staff",
        lambda w: "/account/tokens/revoke",
        lambda w: {"token": w.api_token.id},
        ("api_token.revoked",),
        refused=lambda w: {"token": 999999},
    ),
    "auth.accept_invite": Case(
        None,
        lambda w: f"/invite/{w.invite_token}",
        lambda w: {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        ("user.invitation_accepted",),
        refused=lambda w: {"password": "short", "confirm": "short"},
    ),
    # --- not recorded: logging in and out, and signals that are records of their own ---------
    "auth.login": Case(
        None,
        lambda w: "/login",
        lambda w: {"email": w.users["staff"].email, "password": PASSWORD},
        (),
    ),
    "auth.logout": Case("staff", lambda w: "/logout", lambda w: {}, ()),
    "staff.step": Case(
        "staff",
        lambda w: f"/processes/{w.claims.id}/steps/register",
        lambda w: {"category": "waiting", "severity": "3"},
        (),
    ),
    "staff.me_too": Case(
        "staff",
        lambda w: f"/processes/{w.claims.id}/steps/register/flags/{w.colleague_flag.id}/me-too",
        lambda w: {"agree": "1"},
        (),
    ),
    "staff.withdraw": Case(
        "staff", lambda w: f"/my/flags/{w.own_flag.id}/withdraw", lambda w: {}, ()
    ),
    "insights.pulse": Case("staff", lambda w: "/pulse", lambda w: {"score": "8"}, ()),
}
#: Customers' feedback is a flag of its own, and the API has its own tests in test_audit.py.
NOT_SWEPT_PREFIXES = ("public.", "api.")


@pytest.fixture
def site(app, session, make, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(outbox, "smtp_sender", lambda settings: lambda row: sent.append(row.id))
    monkeypatch.setattr("web.review.views._smtp", lambda: object())
    app.extensions[RUNNER] = Recorder()
    return _world(app, session, make)


def _client(app, world, role: str | None):
    client = app.test_client()
    if role is not None:
        response = client.post(
            "/login", data={"email": world.users[role].email, "password": PASSWORD}
        )
        assert response.status_code == 302
    return client


def _newest_id(session) -> int:
    return session.scalar(select(func.max(t.AuditEvent.id))) or 0


def _events_after(session, last: int) -> list[t.AuditEvent]:
    session.expire_all()
    return list(
        session.scalars(
            select(t.AuditEvent).where(t.AuditEvent.id > last).order_by(t.AuditEvent.id)
        )
    )


def _send(client, case: Case, world, data: dict):
    options = {"content_type": "multipart/form-data"} if case.multipart else {}
    return client.post(case.path(world), data=data, **options)


def test_every_post_route_is_in_the_sweep():
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "sweep"})
    try:
        posts = {
            rule.endpoint
            for rule in app.url_map.iter_rules()
            if "POST" in rule.methods and not rule.endpoint.startswith(NOT_SWEPT_PREFIXES)
        }
    finally:
        database.engine(app).dispose()
    assert posts == set(CASES)


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_a_successful_post_records_its_events_and_a_refused_one_nothing(
    app, session, site, endpoint
):
    case = CASES[endpoint]
    world = site
    if case.forbidden is not None:
        last = _newest_id(session)
        outsider = _client(app, world, case.forbidden)
        assert _send(outsider, case, world, case.data(world)).status_code == 403
        assert _events_after(session, last) == []
    client = _client(app, world, case.role)
    for path, data in case.before:
        assert client.post(path(world), data=data(world)).status_code < 400
    if case.refused is not None:
        last = _newest_id(session)
        refused = _send(client, case, world, case.refused(world))
        assert refused.status_code in case.refused_status, refused.status_code
        assert _events_after(session, last) == []
    last = _newest_id(session)
    response = _send(client, case, world, case.data(world))
    assert response.status_code in (200, 302), (response.status_code, response.get_data(True))
    events = _events_after(session, last)
    assert sorted(e.action for e in events) == sorted(case.expected)
    actor = world.invitee if endpoint == "auth.accept_invite" else world.users.get(case.role)
    for event in events:
        assert event.org_id == world.org.id
        assert event.actor_id == actor.id
        assert (event.actor_name, event.actor_email) == (actor.name, actor.email)
