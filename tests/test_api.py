"""The JSON API: processes and versions, files, flags, feedback, review figures and diagrams."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from workflow.adapters import tables as t
from workflow.services import accounts, api_tokens, signals


class Api:
    """A test client that sends a user's API token with every request."""

    def __init__(self, client, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method: str):
        call = getattr(self.client, method)

        def send(path: str, **kwargs):
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return call(f"/api/v1{path}", headers=headers, **kwargs)

        return send


def token_for(session, user) -> str:
    _row, plain = api_tokens.create_token(session, user, "tests")
    session.commit()
    return plain


@pytest.fixture
def org(make):
    return make.org()


@pytest.fixture
def rows(make, org):
    return make.model(org)


@pytest.fixture
def as_role(client, session, make, org):
    def build(role: str) -> Api:
        return Api(client, token_for(session, make.user(org, role)))

    return build


@pytest.fixture
def owner(as_role) -> Api:
    return as_role("owner")


def _task(api: Api, process_id: int) -> str:
    steps = api.get(f"/processes/{process_id}/steps").get_json()["items"]
    return next(s["id"] for s in steps if s.get("kind", "task") == "task")


# --- authentication -------------------------------------------------------------------------


def test_a_request_without_a_token_is_refused_with_a_json_401(client, rows):
    response = client.get("/api/v1/processes")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]["code"] == "token_missing"


def test_a_logged_in_browser_session_does_not_open_the_api(client, make, org, rows):
    user = make.user(org, "admin")
    make.login(client, user)
    assert client.get("/api/v1/processes").status_code == 401


def test_revoked_and_expired_tokens_and_deactivated_users_are_refused(
    client, session, make, org, rows
):
    user = make.user(org, "staff")
    row, plain = api_tokens.create_token(session, user, "script")
    session.commit()
    api = Api(client, plain)
    assert api.get("/processes").status_code == 200
    api_tokens.revoke_token(session, user, row.id)
    session.commit()
    assert api.get("/processes").get_json()["error"]["code"] == "token_invalid"
    now = t.utcnow()
    _row, expiring = api_tokens.create_token(
        session, user, "short", expires_at=now + dt.timedelta(seconds=1), now=now
    )
    session.commit()
    later = now + dt.timedelta(seconds=2)
    assert api_tokens.authenticate(session, expiring, now=later) is None
    third = token_for(session, user)
    user.active = False
    session.commit()
    assert Api(client, third).get("/processes").status_code == 401


def test_the_openapi_document_is_public_and_describes_every_api_route(client, app):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    documented = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
        if method != "parameters"
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<int:{name}>", f"{{{name}}}").replace(
                    f"<{name}>", f"{{{name}}}"
                )
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented


# --- processes --------------------------------------------------------------------------------


def test_processes_are_listed_a_page_at_a_time_with_links(owner, rows):
    first = owner.get("/processes?limit=1").get_json()
    assert first["total"] == 2 and len(first["items"]) == 1
    assert first["links"]["prev"] is None
    second = owner.get(first["links"]["next"].removeprefix("/api/v1")).get_json()
    assert second["items"][0]["id"] != first["items"][0]["id"]
    assert second["links"]["next"] is None
    journeys = owner.get("/processes?perspective=customer_journey").get_json()
    assert [p["key"] for p in journeys["items"]] == ["file_claim"]
    refused = owner.get("/processes?limit=1000")
    assert refused.status_code == 422 and "limit" in refused.get_json()["error"]["fields"]


def test_a_process_reads_as_its_current_version_with_the_version_as_etag(owner, rows):
    claims = rows["claims"]
    response = owner.get(f"/processes/{claims.id}")
    body = response.get_json()
    assert response.headers["ETag"] == '"v1"'
    assert body["version"] == 1 and body["valid"] and body["feedback_url"] is None
    document = body["document"]
    assert document["perspective"] == "employee_process"
    assert {"from", "to"} <= set(document["flows"][0])
    assert all("id" in step for step in document["steps"])
    journey = owner.get(f"/processes/{rows['file_claim'].id}").get_json()
    assert journey["feedback_url"].endswith(f"/j/{rows['file_claim'].public_token}")


def test_an_update_saves_a_new_version_and_a_stale_one_is_refused(owner, rows):
    claims = rows["claims"].id
    document = owner.get(f"/processes/{claims}").get_json()["document"]
    document["steps"][1]["name"] = "Take the first notice by phone"
    saved = owner.put(
        f"/processes/{claims}",
        json={"base_version": 1, "process": document, "summary": "Renamed first notice"},
    )
    assert saved.status_code == 200, saved.get_json()
    assert saved.headers["ETag"] == '"v2"'
    assert saved.get_json()["document"]["steps"][1]["name"] == "Take the first notice by phone"
    stale = owner.put(f"/processes/{claims}", json={"base_version": 1, "process": document})
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "version_conflict"
    old_tag = owner.put(
        f"/processes/{claims}", json={"process": document}, headers={"If-Match": '"v1"'}
    )
    assert old_tag.status_code == 412
    by_tag = owner.put(
        f"/processes/{claims}", json={"process": document}, headers={"If-Match": '"v2"'}
    )
    assert by_tag.status_code == 200 and by_tag.get_json()["version"] == 3
    unnamed = owner.put(f"/processes/{claims}", json={"process": document})
    assert unnamed.status_code == 428
    versions = owner.get(f"/processes/{claims}/versions").get_json()
    assert [v["number"] for v in versions["items"]] == [3, 2, 1]
    assert versions["items"][1]["summary"] == "Renamed first notice"
    first = owner.get(f"/processes/{claims}/versions/1").get_json()
    assert first["document"]["steps"][1]["name"] != "Take the first notice by phone"
    assert owner.get(f"/processes/{claims}/versions/9").status_code == 404


def test_an_invalid_document_is_refused_naming_the_field_and_nothing_is_saved(owner, rows):
    claims = rows["claims"].id
    document = owner.get(f"/processes/{claims}").get_json()["document"]
    document["flows"].append({"from": document["steps"][1]["id"], "to": "nowhere"})
    refused = owner.put(f"/processes/{claims}", json={"base_version": 1, "process": document})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "invalid_process"
    assert any(name.startswith("process.flows") for name in error["fields"]), error
    document["flows"].pop()
    document["steps"][1]["kind"] = "teleport"
    schema_refusal = owner.put(
        f"/processes/{claims}", json={"base_version": 1, "process": document}
    )
    assert schema_refusal.status_code == 422
    assert "process.steps.1.kind" in schema_refusal.get_json()["error"]["fields"]
    assert owner.get(f"/processes/{claims}").get_json()["version"] == 1


def test_an_update_may_be_a_yaml_model_file_with_one_process(owner, rows):
    claims = rows["claims"].id
    text = owner.get(f"/processes/{claims}/export").get_data(as_text=True)
    text = text.replace("name: Claims handling", "name: Claims handled")
    saved = owner.put(f"/processes/{claims}", json={"base_version": 1, "yaml": text})
    assert saved.status_code == 200
    assert saved.get_json()["name"] == "Claims handled"
    both = owner.put(f"/processes/{claims}", json={"base_version": 2, "yaml": text, "process": {}})
    assert both.status_code == 422


def test_owners_create_and_delete_processes(owner, rows):
    created = owner.post(
        "/processes",
        json={"key": "refunds", "name": "Refunds", "perspective": "employee_process"},
    )
    assert created.status_code == 201
    body = created.get_json()
    assert created.headers["Location"] == f"/api/v1/processes/{body['id']}"
    assert [s["kind"] for s in body["document"]["steps"]] == ["start", "end"]
    again = owner.post(
        "/processes", json={"key": "refunds", "name": "Again", "perspective": "employee_process"}
    )
    assert again.status_code == 422 and "key" in again.get_json()["error"]["fields"]
    assert owner.delete(f"/processes/{body['id']}", headers={"If-Match": '"v9"'}).status_code == 412
    assert owner.delete(f"/processes/{body['id']}").status_code == 204
    assert owner.get(f"/processes/{body['id']}").status_code == 404


def test_a_process_may_be_created_with_its_steps(owner, rows):
    created = owner.post(
        "/processes",
        json={
            "key": "quick",
            "name": "Quick check",
            "perspective": "employee_process",
            "lanes": [{"id": "desk", "name": "Desk"}],
            "steps": [
                {"id": "in", "name": "In", "kind": "start", "lane": "desk"},
                {"id": "check", "name": "Check", "lane": "desk", "touch_minutes": 5},
                {"id": "out", "name": "Out", "kind": "end", "lane": "desk"},
            ],
            "flows": [{"from": "in", "to": "check"}, {"from": "check", "to": "out"}],
        },
    )
    assert created.status_code == 201, created.get_json()
    steps = created.get_json()["document"]["steps"]
    assert steps[1] == {"id": "check", "name": "Check", "lane": "desk", "touch_minutes": 5.0}


def test_another_organisations_process_is_not_found(client, session, make, owner, rows):
    other = make.org("Other")
    theirs = make.model(other)["claims"]
    assert owner.get(f"/processes/{theirs.id}").status_code == 404
    assert (
        owner.put(f"/processes/{theirs.id}", json={"base_version": 1, "yaml": "x"}).status_code
        == 404
    )
    assert owner.delete(f"/processes/{theirs.id}").status_code == 404
    assert session.get(t.Process, theirs.id) is not None


def test_steps_and_flows_of_the_current_version_are_read_with_open_flag_counts(as_role, rows):
    staff = as_role("staff")
    claims = rows["claims"].id
    steps = staff.get(f"/processes/{claims}/steps").get_json()
    assert steps["version"] == 1
    task = _task(staff, claims)
    assert (
        staff.post(
            f"/processes/{claims}/steps/{task}/flags", json={"category": "waiting", "severity": 4}
        ).status_code
        == 201
    )
    one = staff.get(f"/processes/{claims}/steps/{task}").get_json()
    assert one["open_flags"]["staff"] >= 1
    assert staff.get(f"/processes/{claims}/steps/no_such_step").status_code == 404
    flows = staff.get(f"/processes/{claims}/flows").get_json()["items"]
    assert all({"from", "to"} <= set(flow) for flow in flows)


# --- files ------------------------------------------------------------------------------------


def test_a_process_exports_as_yaml_and_as_bpmn_that_imports_back(owner, rows):
    claims = rows["claims"].id
    yaml_file = owner.get(f"/processes/{claims}/export?format=yaml")
    assert yaml_file.mimetype == "application/yaml"
    assert "attachment" in yaml_file.headers["Content-Disposition"]
    bpmn = owner.get(f"/processes/{claims}/export?format=bpmn")
    assert bpmn.mimetype == "application/xml"
    assert b"definitions" in bpmn.data
    imported = owner.post(
        "/processes/import", json={"format": "bpmn", "content": bpmn.get_data(as_text=True)}
    )
    assert imported.status_code == 201, imported.get_json()
    body = imported.get_json()
    assert [p["key"] for p in body["processes"]] == ["claims"]
    assert body["processes"][0]["version"] == 2
    assert isinstance(body["warnings"], list)


def test_a_yaml_file_imports_new_processes(owner, org):
    from tests.conftest import MODELS

    text = (MODELS / "insurance_claim.yaml").read_text(encoding="utf-8")
    imported = owner.post("/processes/import", json={"format": "yaml", "content": text})
    assert imported.status_code == 201
    assert sorted(p["key"] for p in imported.get_json()["processes"]) == ["claims", "file_claim"]


def test_broken_and_hostile_files_are_refused_and_nothing_is_stored(owner, org, session):
    broken = owner.post("/processes/import", json={"format": "yaml", "content": "name: [oops"})
    assert broken.status_code == 422 and "content" in broken.get_json()["error"]["fields"]
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<definitions>&x;</definitions>"
    )
    refused = owner.post("/processes/import", json={"format": "bpmn", "content": hostile})
    assert refused.status_code == 422
    huge = owner.post("/processes/import", json={"format": "yaml", "content": "#" * (11 << 20)})
    assert huge.status_code == 413
    assert session.scalar(select(t.Process.id).limit(1)) is None


# --- flags ------------------------------------------------------------------------------------


def test_staff_flag_a_step_and_others_say_me_too(as_role, rows):
    staff, colleague = as_role("staff"), as_role("staff")
    claims = rows["claims"].id
    task = _task(staff, claims)
    created = staff.post(
        f"/processes/{claims}/steps/{task}/flags",
        json={
            "category": "asked_twice",
            "severity": 3,
            "text": "Same form again",
            "anonymous": True,
        },
    )
    assert created.status_code == 201
    flag = created.get_json()
    assert flag["mine"] and flag["author"] and flag["source"] == "staff"
    seen = colleague.get(f"/flags/{flag['id']}").get_json()
    assert seen["author"] is None and not seen["mine"]
    agreed = colleague.post(f"/flags/{flag['id']}/me-too")
    assert agreed.get_json() == {"agreed": True, "votes": 1}
    assert colleague.post(f"/flags/{flag['id']}/me-too").get_json()["votes"] == 1
    own = staff.post(f"/flags/{flag['id']}/me-too")
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "own_flag"
    assert colleague.delete(f"/flags/{flag['id']}/me-too").get_json()["votes"] == 0
    bad = staff.post(
        f"/processes/{claims}/steps/{task}/flags", json={"category": "x", "severity": 9}
    )
    assert set(bad.get_json()["error"]["fields"]) == {"category", "severity"}
    missing = staff.post(
        f"/processes/{claims}/steps/nowhere/flags", json={"category": "waiting", "severity": 2}
    )
    assert missing.status_code == 404


def test_flags_are_filtered_by_process_status_and_source(as_role, rows, session):
    staff = as_role("staff")
    claims, journey = rows["claims"].id, rows["file_claim"].id
    task = _task(staff, claims)
    staff.post(
        f"/processes/{claims}/steps/{task}/flags", json={"category": "waiting", "severity": 2}
    )
    everything = staff.get("/flags?limit=100").get_json()
    assert everything["total"] >= 1
    on_claims = staff.get(f"/flags?process={claims}&source=staff&status=new").get_json()
    assert on_claims["items"] and all(
        f["process_id"] == claims and f["source"] == "staff" and f["status"] == "new"
        for f in on_claims["items"]
    )
    customers = staff.get(f"/flags?process={journey}&source=customer").get_json()["items"]
    assert all(f["source"] == "customer" for f in customers)
    assert staff.get("/flags?status=lost").status_code == 422


def test_reviewers_triage_flags_and_staff_cannot(as_role, rows):
    staff, reviewer = as_role("staff"), as_role("reviewer")
    claims = rows["claims"].id
    task = _task(staff, claims)
    flag = staff.post(
        f"/processes/{claims}/steps/{task}/flags", json={"category": "waiting", "severity": 2}
    ).get_json()
    assert (
        staff.post(f"/flags/{flag['id']}/status", json={"status": "addressed"}).status_code == 403
    )
    no_reason = reviewer.post(f"/flags/{flag['id']}/status", json={"status": "addressed"})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]["fields"]
    done = reviewer.post(
        f"/flags/{flag['id']}/status", json={"status": "wont_fix", "reason": "Required by law"}
    )
    assert done.status_code == 200
    assert done.get_json()["status"] == "wont_fix"
    assert done.get_json()["status_reason"] == "Required by law"


# --- public feedback --------------------------------------------------------------------------


def test_customers_give_feedback_without_a_token(client, rows, session):
    token = rows["file_claim"].public_token
    journey = client.get(f"/api/v1/public/journeys/{token}").get_json()
    step = journey["steps"][1]["id"]
    sent = client.post(
        f"/api/v1/public/journeys/{token}/feedback",
        json={"step": step, "category": "chasing_status", "score": 2, "text": "Nobody called"},
    )
    assert sent.status_code == 201
    assert sent.get_json() == {"flag": True, "effort_score": True, "will_reply": False}
    flag = session.scalar(select(t.Flag).where(t.Flag.text == "Nobody called"))
    assert flag.source == "customer" and flag.step_id == step
    wrong = client.post(
        f"/api/v1/public/journeys/{token}/feedback",
        json={"step": "no_such", "score": 9, "email": "not-an-address"},
    )
    assert wrong.status_code == 422
    assert {"step", "score", "email"} <= set(wrong.get_json()["error"]["fields"])
    assert client.post("/api/v1/public/journeys/unknown/feedback", json={}).status_code == 404
    employee = rows["claims"]
    assert employee.public_token is None


def test_public_feedback_is_small_and_rate_limited(database_url, tmp_path, rows, session):
    from web import create_app, database

    limited = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "limits",
            "RATELIMIT_ENABLED": True,
            "FEEDBACK_RATE_LIMIT": "2 per minute",
            "RENDER_CACHE_DIR": str(tmp_path),
        }
    )
    try:
        client = limited.test_client()
        path = f"/api/v1/public/journeys/{rows['file_claim'].public_token}/feedback"
        too_big = client.post(path, json={"text": "x" * 40_000})
        assert too_big.status_code == 413
        assert too_big.get_json()["error"]["code"] == "too_large"
        assert client.post(path, json={"score": 6}).status_code == 201
        limited_out = client.post(path, json={"score": 6})
        assert limited_out.status_code == 429
        assert 0 < int(limited_out.headers["Retry-After"]) <= 60
        assert limited_out.get_json()["error"]["code"] == "rate_limited"
    finally:
        database.engine(limited).dispose()


# --- review figures, proposals and diagrams ---------------------------------------------------


def test_readers_get_metrics_and_scores_of_the_current_version(as_role, rows):
    reviewer = as_role("reviewer")
    claims = rows["claims"].id
    figures = reviewer.get(f"/processes/{claims}/metrics").get_json()
    assert figures["version"] == 1 and figures["lead_minutes"] > 0
    assert 0 <= figures["pce"] <= 1 and figures["visits"]
    scores = reviewer.get(f"/processes/{claims}/scores").get_json()["items"]
    priorities = [s["priority"]["value"] for s in scores]
    assert priorities == sorted(priorities, reverse=True)
    assert as_role("staff").get(f"/processes/{claims}/metrics").status_code == 403


def test_reviewers_accept_reject_and_apply_proposals(as_role, rows):
    reviewer = as_role("reviewer")
    claims = rows["claims"].id
    listed = reviewer.get(f"/processes/{claims}/proposals").get_json()
    assert listed["measured"] and listed["items"]
    first, second = listed["items"][0]["id"], listed["items"][1]["id"]
    no_reason = reviewer.post(f"/processes/{claims}/proposals/{second}/reject", json={"version": 1})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]["fields"]
    rejected = reviewer.post(
        f"/processes/{claims}/proposals/{second}/reject",
        json={"version": 1, "reason": "The auditor needs it"},
    )
    assert rejected.get_json()["status"] == "rejected"
    accepted = reviewer.post(f"/processes/{claims}/proposals/{first}/accept", json={"version": 1})
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    twice = reviewer.post(f"/processes/{claims}/proposals/{first}/accept", json={"version": 1})
    assert twice.status_code == 409
    unknown = reviewer.post(f"/processes/{claims}/proposals/nope.x.y/accept", json={"version": 1})
    assert unknown.status_code == 404
    statuses = {
        p["id"]: p["status"]
        for p in reviewer.get(f"/processes/{claims}/proposals").get_json()["items"]
    }
    assert statuses[first] == "accepted" and statuses[second] == "rejected"
    owner = as_role("owner")
    assert (
        owner.post(f"/processes/{claims}/proposals/apply", json={"version": 1}).status_code == 403
    )
    applied = reviewer.post(f"/processes/{claims}/proposals/apply", json={"version": 1})
    assert applied.status_code == 200, applied.get_json()
    assert applied.get_json()["version"] == 2 and applied.get_json()["applied"] == [first]
    stale = reviewer.post(f"/processes/{claims}/proposals/apply", json={"version": 1})
    assert stale.status_code == 409


def test_diagrams_render_as_svg_and_png_by_role(as_role, rows):
    staff, reviewer = as_role("staff"), as_role("reviewer")
    claims, journey = rows["claims"].id, rows["file_claim"].id
    svg = staff.get(f"/processes/{claims}/render")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    png = staff.get(f"/processes/{claims}/render?format=png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert staff.get(f"/processes/{claims}/render?view=heatmap").status_code == 403
    heatmap = reviewer.get(f"/processes/{claims}/render?view=heatmap")
    assert heatmap.status_code == 200 and b"<svg" in heatmap.data
    blueprint = staff.get(f"/processes/{journey}/render?view=blueprint")
    assert blueprint.status_code == 200 and b"<svg" in blueprint.data
    assert staff.get(f"/processes/{claims}/render?view=blueprint").status_code == 422
    assert staff.get(f"/processes/{claims}/render?format=gif").status_code == 422


def test_unknown_flags_and_those_of_other_organisations_are_not_found(as_role, make, session, rows):
    other = make.org("Elsewhere")
    theirs = make.model(other)["claims"]
    someone = make.user(other, "staff")
    process = session.get(t.Process, theirs.id)
    step = signals.current_step  # the service that resolves steps
    assert step is not None
    flag = signals.flag_step(
        session,
        someone,
        process,
        "fnol",
        category="waiting",
        severity=2,
    )
    session.commit()
    staff = as_role("staff")
    assert staff.get(f"/flags/{flag.id}").status_code == 404
    assert staff.post(f"/flags/{flag.id}/me-too").status_code == 404
    assert (
        as_role("reviewer")
        .post(f"/flags/{flag.id}/status", json={"status": "addressed", "reason": "x"})
        .status_code
        == 404
    )
    assert all(f["id"] != flag.id for f in staff.get("/flags?limit=100").get_json()["items"])
    assert accounts.ROLES
