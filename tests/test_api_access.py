"""Who may call what in the JSON API: every API route against every role, callers without a
token, and another organisation's ids.

The table is the API's access policy, the same as the pages' (tests/test_access.py): a new API
route fails the first test until it is placed here.
"""

from __future__ import annotations

import pytest

from tests.test_access import ALL, DECIDERS, OWNERS, READERS, ROLES, World, site  # noqa: F401
from workflow.services import api_tokens

#: Roles allowed on each API route (admins may always do everything).
ACCESS = {
    "api.processes_list": ALL,
    "api.process": ALL,
    "api.steps": ALL,
    "api.step": ALL,
    "api.flows": ALL,
    "api.render": ALL,
    "api.flags_list": ALL,
    "api.flag": ALL,
    "api.flag_create": ALL,
    "api.me_too": ALL,
    "api.me_too_withdraw": ALL,
    "api.process_create": OWNERS,
    "api.process_update": OWNERS,
    "api.process_delete": OWNERS,
    "api.versions": OWNERS,
    "api.version": OWNERS,
    "api.export": OWNERS,
    "api.import_file": OWNERS,
    "api.metrics": READERS,
    "api.scores": READERS,
    "api.proposals": READERS,
    "api.flag_status": DECIDERS,
    "api.proposal_accept": DECIDERS,
    "api.proposal_reject": DECIDERS,
    "api.proposal_reopen": DECIDERS,
    "api.proposals_apply": DECIDERS,
}
PUBLIC = {"api.openapi", "api.public_journey", "api.public_feedback"}


@pytest.fixture(scope="module")
def tokens(site):  # noqa: F811
    app, world = site
    from web import database

    found = {}
    with database.session_factory(app)() as session:
        for org, data in world.orgs.items():
            for role, user in data["users"].items():
                found[org, role] = api_tokens.create_token(session, user, "access")[1]
        session.commit()
    return found


def _routes(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]


def _requests(app, world, org="Alpha"):
    """(endpoint, method, path) of every API route, aimed at ``org``'s rows."""
    values = world.values("api", org)
    values["process_id"] = world.orgs[org]["claims"].id
    found = []
    for rule in _routes(app):
        if rule.endpoint in PUBLIC:
            continue
        with app.test_request_context():
            from flask import url_for

            path = url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, path))
    return found


def test_every_api_route_has_an_access_decision(site):  # noqa: F811
    app, _world = site
    assert sorted({r.endpoint for r in _routes(app)} - PUBLIC - set(ACCESS)) == []


def test_callers_without_a_valid_token_get_401_on_every_api_route(site):  # noqa: F811
    app, world = site
    client = app.test_client()
    for endpoint, method, path in _requests(app, world):
        for headers in ({}, {"Authorization": "Bearer ll_not-a-token"}):
            response = client.open(path, method=method, headers=headers, json={})
            assert response.status_code == 401, (endpoint, method, headers)
            assert response.get_json()["error"]["code"].startswith("token_")


def test_each_role_gets_exactly_the_api_routes_its_policy_allows(site, tokens):  # noqa: F811
    app, world = site
    client = app.test_client()
    for endpoint, method, path in _requests(app, world):
        for role in ROLES:
            headers = {"Authorization": f"Bearer {tokens['Alpha', role]}"}
            allowed = role == "admin" or role in ACCESS[endpoint]
            if not allowed:
                status = client.open(path, method=method, headers=headers, json={}).status_code
                assert status == 403, (role, endpoint, method, status)
            elif method == "GET":
                status = client.get(path, headers=headers).status_code
                assert status in (200, 422), (role, endpoint, status)


def test_another_organisations_ids_are_not_found(site, tokens):  # noqa: F811
    app, world = site
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens['Alpha', 'admin']}"}
    probed = 0
    for endpoint, method, path in _requests(app, world, org="Beta"):
        if ("/processes/" not in path and "/flags/" not in path) or endpoint == "api.import_file":
            continue
        if method == "DELETE" and endpoint == "api.process_delete":
            continue
        status = client.open(path, method=method, headers=headers, json={}).status_code
        assert status in (404, 422) if method != "GET" else status == 404, (endpoint, method)
        probed += 1
    assert probed >= 20
    beta = world.orgs["Beta"]["claims"].id
    assert client.delete(f"/api/v1/processes/{beta}", headers=headers).status_code == 404
