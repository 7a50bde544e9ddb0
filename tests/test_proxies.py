"""Behind a reverse proxy, ``PROXY_FIX`` trusts its ``X-Forwarded-*`` headers: rate limits count
each real client, and the app sees the scheme and host the client used."""

from __future__ import annotations

import uuid

import pytest
from flask import request


@pytest.fixture
def make_app(rate_limited):
    def build(**config):
        app = rate_limited(
            RATELIMIT_KEY_PREFIX=f"leanlane-test-{uuid.uuid4().hex}",
            LOGIN_RATE_LIMIT="2 per minute",
            **config,
        )

        @app.route("/where-am-i")
        def where_am_i():
            return {
                "root": request.url_root,
                "secure": request.is_secure,
                "ip": request.remote_addr,
            }

        return app

    return build


def login_from(client, address: str) -> int:
    return client.post(
        "/login",
        data={"email": "nobody@example.com", "password": "wrong"},
        headers={"X-Forwarded-For": address},
    ).status_code


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_login_limit(make_app):
    client = make_app(PROXY_FIX=1).test_client()

    first = [login_from(client, "203.0.113.7") for _ in range(3)]
    other = login_from(client, "198.51.100.9")

    assert first[:2] != [429, 429] and first[2] == 429
    assert other != 429


def test_without_proxy_fix_a_forwarded_address_does_not_change_the_limit(make_app):
    client = make_app().test_client()

    statuses = [login_from(client, f"203.0.113.{n}") for n in range(3)]

    assert 429 not in statuses[:2]
    assert statuses[2] == 429


def test_behind_a_trusted_proxy_the_app_sees_the_clients_scheme_host_and_address(make_app):
    client = make_app(PROXY_FIX=1).test_client()

    seen = client.get(
        "/where-am-i",
        headers={
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "leanlane.example.org",
        },
    ).get_json()

    assert seen == {"root": "https://leanlane.example.org/", "secure": True, "ip": "203.0.113.7"}


def test_without_proxy_fix_forwarded_headers_are_ignored(make_app):
    client = make_app().test_client()

    seen = client.get(
        "/where-am-i",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
    ).get_json()

    assert seen["secure"] is False
    assert seen["root"].startswith("http://")
    assert seen["ip"] != "203.0.113.7"


def test_only_the_configured_number_of_proxies_is_trusted(make_app):
    client = make_app(PROXY_FIX=1).test_client()

    seen = client.get(
        "/where-am-i", headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.7"}
    ).get_json()

    assert seen["ip"] == "203.0.113.7"


def test_a_negative_number_of_proxies_is_refused(make_app):
    with pytest.raises(ValueError, match="PROXY_FIX"):
        make_app(PROXY_FIX=-1)
