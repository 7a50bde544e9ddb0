"""Extra fields posted to every form and every JSON API write change nothing they should not.

Every page an admin of organisation Alpha can open is read, and every form on it is sent back
as a browser would (its own values, blanks filled in), plus fields a form never has: another
organisation's ids (``org_id``, ``process_id``, ``user_id``, ``id``), ``role``, ``is_admin``,
``password_hash`` and ``status``. Afterwards nothing of organisation Beta is different, and the
sender's own role, organisation, password and e-mail are as before. Every JSON API write gets
the same fields in its body and refuses them by name. POST routes that no page holds a form for
are sent the extra fields alone.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from lxml import html
from sqlalchemy import or_, select
from werkzeug.exceptions import HTTPException

from tests.test_access import (  # noqa: F401
    ENDPOINTS,
    PUBLIC_PREFIX,
    client_for,
    rules,
    site,
    url,
)
from web import database
from workflow.adapters import tables as t
from workflow.services import api_tokens

#: Routes whose forms end the sender's own session; they are sent last.
LAST = {"auth.logout"}
#: What a form may leave blank that a person would fill in.
FILL = {"email": "mass@alpha.example", "number": "1", "date": "2030-01-01", "password": ""}


def hostile_fields(world) -> dict[str, str]:
    beta = world.orgs["Beta"]
    return {
        "org_id": str(beta["org"].id),
        "organisation_id": str(beta["org"].id),
        "process_id": str(beta["claims"].id),
        "user_id": str(beta["users"]["staff"].id),
        "id": str(beta["claims"].id),
        "role": "admin",
        "is_admin": "1",
        "password_hash": "$argon2id$v=19$m=1024,t=1,p=1$forged",
        "status": "done",
        "active": "1",
        "author_id": str(beta["users"]["admin"].id),
    }


# --- what belongs to Beta -----------------------------------------------------------------------
def beta_rows(session, world) -> dict[str, set[tuple]]:
    """Every row of every table that belongs to Beta, found by its organisation, process, user
    or flag columns."""
    beta = world.orgs["Beta"]
    org_id = beta["org"].id
    processes = set(session.scalars(select(t.Process.id).where(t.Process.org_id == org_id)))
    users = set(session.scalars(select(t.User.id).where(t.User.org_id == org_id)))
    flags = set(session.scalars(select(t.Flag.id).where(t.Flag.process_id.in_(processes))))
    owners = {
        "org_id": {org_id},
        "process_id": processes,
        "user_id": users,
        "author_id": users,
        "flag_id": flags,
    }
    found: dict[str, set[tuple]] = {}
    for table in t.metadata.sorted_tables:
        columns = [c for c in table.columns if c.name in owners]
        if table.name == "organisations":
            query = select(table).where(table.c.id == org_id)
        elif table.name in ("processes", "users", "flags"):
            ids = {"processes": processes, "users": users, "flags": flags}[table.name]
            query = select(table).where(table.c.id.in_(ids))
        elif columns:
            query = select(table).where(or_(*[c.in_(owners[c.name]) for c in columns]))
        else:
            continue
        found[table.name] = {tuple(row) for row in session.execute(query)}
    return found


def own_account(session, user_id: int) -> tuple:
    user = session.get(t.User, user_id)
    return (user.role, user.org_id, user.password_hash, user.email, user.name)


# --- forms as a browser sends them -----------------------------------------------------------
def form_values(form) -> dict[str, str]:
    """The values a browser would send for ``form``, blanks filled in."""
    values: dict[str, str] = {}
    for element in form.inputs:
        name = element.get("name")
        if not name or element.get("disabled") is not None:
            continue
        tag = element.tag
        kind = (element.get("type") or "text").lower()
        if tag == "select":
            options = [o.get("value", o.text_content()) for o in element.iter("option")]
            chosen = [
                o.get("value", o.text_content())
                for o in element.iter("option")
                if o.get("selected") is not None
            ]
            picks = chosen or [v for v in options if v] or options
            if picks:
                values[name] = picks[0]
        elif kind in ("radio",):
            if name not in values or element.get("checked") is not None:
                values[name] = element.get("value", "on")
        elif kind == "checkbox":
            if element.get("checked") is not None:
                values[name] = element.get("value", "on")
        elif kind in ("submit", "button", "file", "image", "reset"):
            continue
        else:
            value = element.value if tag != "textarea" else (element.text or "")
            values[name] = value or FILL.get(kind, "" if kind == "hidden" else "Filled in")
    return values


def forms_by_endpoint(app, world, client) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """POST forms found on every page the admin opens: endpoint -> [(action, values)]."""
    adapter = app.url_map.bind("localhost")
    pages = [
        url(app, world, endpoint)[0]
        for endpoint in ENDPOINTS
        if "GET" in url(app, world, endpoint)[1]
    ]
    pages.append(f"/j/{world.orgs['Alpha']['journey'].public_token}")
    found: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for page in pages:
        response = client.get(page)
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        for form in html.fromstring(response.get_data(as_text=True)).forms:
            if (form.method or "GET").upper() != "POST":
                continue
            action = urlsplit(form.action or page).path or page
            try:
                endpoint, _ = adapter.match(action, method="POST")
            except HTTPException:  # an action outside the app
                continue
            found.setdefault(endpoint, []).append((action, form_values(form)))
    return found


def test_every_form_with_extra_fields_changes_nothing_outside_itself(site):  # noqa: F811
    app, world = site
    admin = world.orgs["Alpha"]["users"]["admin"]
    extras = hostile_fields(world)
    sessions = database.session_factory(app)
    forms = forms_by_endpoint(app, world, client_for(app, admin))
    posts = sorted(
        {r.endpoint for r in rules(app) if "POST" in r.methods}, key=lambda e: (e in LAST, e)
    )
    tried = sent_with_form = accepted = 0
    with sessions() as session:
        before_beta = beta_rows(session, world)
        before_self = own_account(session, admin.id)
    for endpoint in posts:
        targets = forms.get(endpoint) or [(url(app, world, endpoint)[0], {})]
        sent_with_form += bool(forms.get(endpoint))
        for action, values in targets[:3]:
            added = {k: v for k, v in extras.items() if k not in values}
            with sessions() as session:
                admin_now = session.get(t.User, admin.id)
                client = client_for(app, admin_now)
            response = client.post(action, data={**values, **added})
            tried += len(added)
            assert response.status_code < 500, (endpoint, response.status_code)
            accepted += response.status_code in (302, 303) and bool(values)
            with sessions() as session:
                assert beta_rows(session, world) == before_beta, endpoint
                assert own_account(session, admin.id) == before_self, endpoint
    print(
        f"\nform routes: {len(posts)} ({sent_with_form} with a form found on a page), "
        f"extra fields sent: {tried}, forms accepted with them: {accepted}"
    )
    assert sent_with_form >= len(posts) // 2
    assert accepted >= sent_with_form // 2, "most forms must be sent as valid forms"


# --- the JSON API ----------------------------------------------------------------------------
def api_writes(app, world) -> list[tuple[str, str, str]]:
    values = world.values("api", "Alpha")
    values["process_id"] = world.orgs["Alpha"]["claims"].id
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        with app.test_request_context():
            from flask import url_for

            path = url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            found.append((rule.endpoint, method, path))
    return sorted(found, key=lambda write: write[1] == "DELETE")


#: A body each API write that reads one accepts without the extra fields; the others (deletes,
#: "me too", accepting a proposal) read no body, so extra fields cannot reach anything.
API_BODIES = {
    "api.process_create": {"key": "mass", "name": "Mass", "perspective": "employee_process"},
    "api.process_update": {"base_version": 1, "summary": "Mass"},
    "api.flag_create": {"category": "waiting", "severity": 3},
    "api.flag_status": {"status": "addressed", "reason": "Done"},
    "api.import_file": {"format": "yaml", "content": "leanlane: 1"},
    "api.public_feedback": {"step": "chase", "category": "chasing_status", "score": 2},
}


def test_every_api_write_refuses_extra_fields_by_name(site):  # noqa: F811
    app, world = site
    extras = hostile_fields(world)
    sessions = database.session_factory(app)
    admin = world.orgs["Alpha"]["users"]["admin"]
    with sessions() as session:
        token = api_tokens.create_token(session, session.get(t.User, admin.id), "mass")[1]
        session.commit()
        before_beta = beta_rows(session, world)
        before_self = own_account(session, admin.id)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    tried = 0
    writes = api_writes(app, world)
    for endpoint, method, path in writes:
        body = {**API_BODIES.get(endpoint, {}), **extras}
        response = client.open(path, method=method, json=body, headers=headers)
        tried += len(extras)
        assert response.status_code < 500, (endpoint, response.status_code)
        if endpoint in API_BODIES:
            assert response.status_code == 422, (endpoint, response.status_code)
            detail = str(response.get_json())
            assert "org_id" in detail and "password_hash" in detail, (endpoint, detail[:300])
        with sessions() as session:
            assert beta_rows(session, world) == before_beta, endpoint
            assert own_account(session, admin.id) == before_self, endpoint
    print(f"\nAPI write routes: {len(writes)}, extra fields sent: {tried}")
    assert {endpoint for endpoint, _method, _path in writes} >= set(API_BODIES)
