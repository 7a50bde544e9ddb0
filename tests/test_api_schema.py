"""The API against its own OpenAPI document, fuzzed by schemathesis inside the test suite.

Every documented operation gets generated requests (half aimed at real rows of a seeded
organisation, half at whatever ids the generator picks) sent with an admin's token to the WSGI
app; no answer may be a server error, use an undocumented status, content type or header, or
break its response schema. Deterministic (derandomized) and bounded, so it runs in CI.
"""

from __future__ import annotations

import hypothesis.strategies as st
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from workflow.adapters import repository as repo
from workflow.services import api_tokens, signals

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 25


def _seed(session, make):
    org = make.org("Fuzzed")
    admin = make.user(org, "admin")
    staff = make.user(org, "staff")
    rows = make.model(org)
    claims, journey = rows["claims"], rows["file_claim"]
    process = repo.parse_document(repo.current_version(session, claims).document).process
    task = next(s.id for s in process.steps() if s.kind.value == "task")
    flag = signals.flag_step(session, staff, claims, task, category="waiting", severity=3)
    _row, token = api_tokens.create_token(session, admin, "schemathesis")
    session.commit()
    real = {
        "process_id": claims.id,
        "flag_id": flag.id,
        "step_id": task,
        "number": 1,
        "token": journey.public_token,
        "key": "claims.merge_duplicate_capture.rekey",
    }
    return token, real


def _last(operation) -> int:
    """Deletes go last, so they do not take away what the other operations probe."""
    return 1 if operation.method.upper() == "DELETE" else 0


def _fuzz(strategy, headers, count) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        count()
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_the_api_meets_its_openapi_document(app, session, make):
    token, real = _seed(session, make)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_last)
    headers = {"Authorization": f"Bearer {token}"}
    sent: dict[str, int] = {}
    for operation in operations:
        known = {k: v for k, v in real.items() if "{" + k + "}" in operation.path}
        strategy = (
            st.one_of(operation.as_strategy(path_parameters=known), operation.as_strategy())
            if known
            else operation.as_strategy()
        )
        label = f"{operation.method.upper()} {operation.path}"
        sent[label] = 0

        _fuzz(strategy, headers, lambda label=label: sent.update({label: sent[label] + 1}))
    assert len(sent) >= 25, sorted(sent)
    assert all(count > 0 for count in sent.values()), sent
    print(f"schemathesis: {len(sent)} operations, {sum(sent.values())} requests, 0 failures")
