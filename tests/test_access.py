"""Who may open what: every route of the app against every role, anonymous visitors and
another organisation's ids.

The table below is the access policy. A new route fails the first test until it is placed in
the table, so no page can go out without a decision on who may use it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import MODELS, _wipe
from web import create_app, database
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.analysis import analyze
from workflow.services import accounts, jobs, members, signals
from workflow.services.processes import import_model

ALL = frozenset({"staff", "owner", "reviewer", "admin"})
OWNERS = frozenset({"owner", "admin"})
READERS = frozenset({"reviewer", "owner", "admin"})
DECIDERS = frozenset({"reviewer", "admin"})
ADMINS = frozenset({"admin"})

#: Roles allowed on each logged-in route (admins may always do everything).
ACCESS = {
    "home.processes": ALL,
    "auth.account": ALL,
    "auth.tokens": ALL,
    "auth.revoke_token": ALL,
    "staff.process": ALL,
    "staff.step": ALL,
    "staff.me_too": ALL,
    "staff.my_flags": ALL,
    "insights.pulse": ALL,
    "insights.organisation": READERS,
    "insights.process": READERS,
    "review.index": READERS,
    "review.dashboard": READERS,
    "review.proposal": READERS,
    "review.comment": READERS,
    "review.flag_status": DECIDERS,
    "review.flag_link": DECIDERS,
    "review.decision": DECIDERS,
    "review.apply_confirm": DECIDERS,
    "review.apply": DECIDERS,
    "review.outbox_list": DECIDERS,
    "review.outbox_send": DECIDERS,
    "admin.users": ADMINS,
    "admin.invite": ADMINS,
    "admin.user": ADMINS,
    "admin.deactivate": ADMINS,
    "admin.reactivate": ADMINS,
    "admin.resend": ADMINS,
    "admin.organisation": ADMINS,
    "admin.export": ADMINS,
    "admin.activity": ADMINS,
    "admin.activity_csv": ADMINS,
    "imports.upload": OWNERS,
    "imports.options": OWNERS,
    "imports.cancel": OWNERS,
    "imports.retry": OWNERS,
    "imports.job": OWNERS,
    "imports.job_json": OWNERS,
    "imports.export_steps": OWNERS,
}
#: Routes of every owner page are for owners (and admins).
OWNER_PREFIX = "owners."
#: A flag's own pages answer its author only (others get 404, tested in test_staff).
AUTHOR_ONLY = {"staff.flag", "staff.withdraw"}
#: Open to anyone: logging in, invitations, the public customer pages, health and assets.
PUBLIC = {
    "home.index",
    "home.favicon",
    "home.health",
    "auth.login",
    "auth.logout",
    "auth.accept_invite",
    "static",
}
PUBLIC_PREFIX = "public."
#: The JSON API answers 401 JSON without a token instead of a redirect; its own role matrix is
#: in test_api_access.
API_PREFIX = "api."
ROLES = ("staff", "owner", "reviewer", "admin")


def allowed(endpoint: str) -> frozenset[str]:
    if endpoint.startswith(OWNER_PREFIX):
        return OWNERS
    return ACCESS[endpoint]


class World:
    """Two organisations, each with one user per role, the insurance-claim model, a staff flag
    and a member; ids of the first are used for its own users, ids of the second to probe."""

    def __init__(self, session) -> None:
        self.orgs = {}
        for name in ("Alpha", "Beta"):
            org = accounts.create_organisation(session, name)
            users = {
                role: accounts.create_user(
                    session, org, f"{role}@{org.slug}.example", role.title(), role, "x" * 12
                )
                for role in ROLES
            }
            text = (MODELS / "insurance_claim.yaml").read_text(encoding="utf-8")
            rows = {r.key: r for r in import_model(session, org.id, None, text)}
            claims, journey = rows["claims"], rows["file_claim"]
            process = repo.parse_document(repo.current_version(session, claims).document).process
            task = next(s.id for s in process.steps() if s.kind.value == "task")
            flag = signals.flag_step(
                session, users["staff"], claims, task, category="waiting", severity=3, text="slow"
            )
            members.add_member(session, claims, users["staff"], actor_id=None)
            journey_process = repo.parse_document(
                repo.current_version(session, journey).document
            ).process
            self.orgs[name] = {
                "org": org,
                "users": users,
                "claims": claims,
                "journey": journey,
                "task": task,
                "journey_step": next(
                    s.id for s in journey_process.steps() if s.kind.value == "task"
                ),
                "lane": process.lanes[0].id,
                "flag": flag,
                "job": jobs.submit(session, None, org_id=org.id, user_id=None, kind="bpmn"),
            }
        session.commit()
        alpha = self.orgs["Alpha"]
        model, _rows = repo.build_model(session, alpha["org"])
        proposals = [
            p for p in analyze(model, simulation_runs=0).proposals if p.process == "claims"
        ]
        alpha["proposal"] = proposals[0].id

    def values(self, endpoint: str, name: str) -> dict[str, object]:
        """Path values for ``endpoint`` pointing at organisation ``name``'s rows."""
        world = self.orgs[name]
        process = world["journey"] if endpoint == "owners.links" else world["claims"]
        step = world["journey_step"] if endpoint == "owners.links" else world["task"]
        return {
            "process_id": process.id,
            "step_id": step,
            "lane_id": world["lane"],
            "number": 1,
            "flag_id": world["flag"].id,
            "user_id": world["users"]["staff"].id,
            "key": self.orgs["Alpha"]["proposal"],
            "token": world["journey"].public_token,
            "job_id": world["job"].id,
        }


@pytest.fixture(scope="module")
def site(database_url, tmp_path_factory):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "access",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "RENDER_CACHE_DIR": str(tmp_path_factory.mktemp("renders")),
        }
    )
    engine = database.engine(app)
    _wipe(engine)
    with database.session_factory(app)() as session:
        world = World(session)
    yield app, world
    _wipe(engine)
    engine.dispose()


def rules(app):
    return [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint != "static" and not r.endpoint.startswith(API_PREFIX)
    ]


def guarded(app):
    return sorted(
        {
            r.endpoint
            for r in rules(app)
            if r.endpoint not in PUBLIC
            and not r.endpoint.startswith(PUBLIC_PREFIX)
            and r.endpoint not in AUTHOR_ONLY
        }
    )


def _app_for_listing():
    return create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "list"})


LISTING = _app_for_listing()
ENDPOINTS = guarded(LISTING)
database.engine(LISTING).dispose()


def url(app, world, endpoint: str, org: str = "Alpha") -> tuple[str, list[str]]:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {k: v for k, v in world.values(endpoint, org).items() if k in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values), sorted(rule.methods - {"HEAD", "OPTIONS"})


def client_for(app, user):
    client = app.test_client()
    with client.session_transaction() as session:
        session["uid"] = user.id
        session["sv"] = user.session_version
    return client


def test_every_route_has_an_access_decision(site):
    app, _world = site
    undecided = [
        r.endpoint
        for r in rules(app)
        if r.endpoint not in PUBLIC
        and not r.endpoint.startswith(PUBLIC_PREFIX)
        and r.endpoint not in AUTHOR_ONLY
        and not r.endpoint.startswith(OWNER_PREFIX)
        and r.endpoint not in ACCESS
    ]
    assert undecided == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_visitors_are_sent_to_log_in(site, endpoint):
    app, world = site
    path, methods = url(app, world, endpoint)
    client = app.test_client()
    for method in methods:
        response = client.open(path, method=method)
        assert response.status_code == 302, (method, path)
        assert response.headers["Location"].startswith("/login"), (method, path)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_role_gets_exactly_the_routes_its_policy_allows(site, endpoint):
    app, world = site
    path, methods = url(app, world, endpoint)
    users = world.orgs["Alpha"]["users"]
    for role in ROLES:
        client = client_for(app, users[role])
        if role not in allowed(endpoint):
            for method in methods:
                status = client.open(path, method=method).status_code
                assert status == 403, (role, method, path, status)
        elif "GET" in methods:
            status = client.get(path).status_code
            assert status in (200, 302), (role, path, status)


def _probes_another_organisation(app, endpoint: str) -> bool:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return bool(rule.arguments & {"process_id", "flag_id", "user_id", "job_id"})


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if _probes_another_organisation(LISTING, e)]
)
def test_another_organisations_ids_are_not_found(site, endpoint):
    app, world = site
    path, methods = url(app, world, endpoint, org="Beta")
    admin = client_for(app, world.orgs["Alpha"]["users"]["admin"])
    for method in methods:
        status = admin.open(path, method=method).status_code
        assert status == 404, (method, path, status)


@pytest.mark.parametrize("endpoint", sorted(AUTHOR_ONLY))
def test_a_flags_own_pages_are_not_found_for_anyone_else(site, endpoint):
    app, world = site
    path, methods = url(app, world, endpoint)
    for role in ("owner", "reviewer"):
        client = client_for(app, world.orgs["Alpha"]["users"][role])
        for method in methods:
            assert client.open(path, method=method).status_code == 404, (role, method)
    beta_staff = client_for(app, world.orgs["Beta"]["users"]["staff"])
    assert beta_staff.get(path).status_code == 404


def test_the_probed_organisation_is_unchanged(site):
    app, world = site
    with database.session_factory(app)() as session:
        beta = world.orgs["Beta"]
        flag = session.get(t.Flag, beta["flag"].id)
        assert flag.status == "new"
        staff = session.get(t.User, beta["users"]["staff"].id)
        assert staff.active and staff.role == "staff"
        claims = session.get(t.Process, beta["claims"].id)
        assert claims.current_version == 1
        assert session.scalar(select(t.Comment.id).limit(1)) is None


def test_every_form_post_without_its_csrf_token_is_refused(site, tmp_path):
    app, world = site
    guarded_app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "SECRET_KEY": "access",
            "RATELIMIT_ENABLED": False,
            "RENDER_CACHE_DIR": str(tmp_path),
        }
    )
    try:
        admin = client_for(guarded_app, world.orgs["Alpha"]["users"]["admin"])
        posts = sorted(r.endpoint for r in rules(guarded_app) if "POST" in r.methods)
        assert "public.journey" in posts and "auth.login" in posts
        for endpoint in posts:
            path, _methods = url(guarded_app, world, endpoint)
            response = admin.post(path, data={})
            assert response.status_code == 400, (endpoint, response.status_code)
            expected = "Back to the form" if endpoint.startswith(PUBLIC_PREFIX) else "had expired"
            assert expected in response.get_data(as_text=True), endpoint
    finally:
        database.engine(guarded_app).dispose()
