"""DPoP across two gunicorn servers (PostgreSQL shared, proof jtis in Redis): replay and binding rules hold.

The servers are the two of ``test_multiprocess`` plus ``DPOP_CACHE_URL`` pointing at Redis
(127.0.0.1:6379), the production set-up the README describes: seen jtis live in a cache of their own.
Behind one public name both workers see the same ``Host``; the requests to B send A's ``Host`` so a
proof's ``htu`` names the same URI at both, as behind a load balancer.

- a proof accepted by A's token endpoint is refused as a replay by B's, and the same at the APIs;
- a public client's code bound with ``dpop_jkt`` at A is redeemed at B with the key; its refresh token,
  bound to the key, is refused at A with another key and rotated at A with the right one;
- a bound access token is refused as Bearer by both.
"""

from __future__ import annotations

import importlib.util
import uuid
from contextlib import ExitStack
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.conf import settings

from oauth_provider.crypto import pkce_s256
from tests.concurrency.test_multiprocess import (
    HTTP_TIMEOUT,
    ISSUER,
    SERVICE_CLIENT,
    VERIFIER,
    _environment,
    gunicorn,
    log_in,
    manage,
    scratch_database,
)
from tests.helpers.dpop import ProofKey

pytestmark = pytest.mark.postgres

REDIS_URL = "redis://127.0.0.1:6379/9"
SPA_CLIENT = "demo-spa"
SPA_REDIRECT = ISSUER + "/demo/spa/"


def _redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:  # any failure means: skip
        return False


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    if importlib.util.find_spec("gunicorn") is None:
        pytest.skip("gunicorn is not installed (requirements/testing.txt pins it)")
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("needs PostgreSQL")
    if not _redis_reachable():
        pytest.skip(f"needs Redis at {REDIS_URL}")
    logs = tmp_path_factory.mktemp("gunicorn-dpop")
    with ExitStack() as stack:
        database = stack.enter_context(scratch_database())
        env = {**_environment(database), "DPOP_CACHE_URL": REDIS_URL}
        manage(env, "migrate", "--noinput")
        manage(env, "createcachetable")
        manage(env, "seed_demo")
        a = stack.enter_context(gunicorn(env, logs / "a.log"))
        b = stack.enter_context(gunicorn(env, logs / "b.log"))
        yield a, b


def host_of(base: str) -> str:
    return urlsplit(base).netloc


def post_token(server: str, public: str, data: dict, proof: str | None, auth=None) -> requests.Response:
    headers = {"Host": host_of(public)}
    if proof is not None:
        headers["DPoP"] = proof
    return requests.post(server + "/oauth/token/", data=data, auth=auth, headers=headers, timeout=HTTP_TIMEOUT)


def get_me(server: str, public: str, access_token: str, proof: str | None, scheme: str = "DPoP") -> requests.Response:
    headers = {"Host": host_of(public), "Authorization": f"{scheme} {access_token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return requests.get(server + "/api/me", headers=headers, timeout=HTTP_TIMEOUT)


def test_a_proof_used_at_one_server_is_a_replay_at_the_other(two_servers):
    a, b = two_servers
    key = ProofKey("ES256")
    proof = key.proof("POST", a + "/oauth/token/")
    first = post_token(a, a, {"grant_type": "client_credentials"}, proof, auth=SERVICE_CLIENT)
    assert first.status_code == 200, first.text
    assert first.json()["token_type"] == "DPoP"
    # The jti went to Redis (DPOP_CACHE_URL), the replay cache of both servers.
    import redis

    assert redis.Redis.from_url(REDIS_URL).keys("*oauth_provider:dpop:jti:*")
    replay = post_token(b, a, {"grant_type": "client_credentials"}, proof, auth=SERVICE_CLIENT)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_dpop_proof"
    assert "already used" in replay.json()["error_description"]

    access = first.json()["access_token"]
    api_proof = key.proof("GET", a + "/api/me", access_token=access)
    assert get_me(a, a, access, api_proof).status_code == 200
    again = get_me(b, a, access, api_proof)
    assert again.status_code == 401
    assert 'error="invalid_dpop_proof"' in again.headers["WWW-Authenticate"]
    assert "already used" in again.headers["WWW-Authenticate"]
    # A fresh proof works at B; the token alone, as Bearer, works nowhere.
    assert get_me(b, a, access, key.proof("GET", a + "/api/me", access_token=access)).status_code == 200
    assert get_me(a, a, access, None, scheme="Bearer").status_code == 401
    assert get_me(b, a, access, None, scheme="Bearer").status_code == 401


def spa_code(a: str, jkt: str) -> str:
    session = log_in(a)
    query = urlencode({
        "response_type": "code", "client_id": SPA_CLIENT, "redirect_uri": SPA_REDIRECT, "scope": "read",
        "state": uuid.uuid4().hex, "code_challenge": pkce_s256(VERIFIER), "code_challenge_method": "S256",
        "dpop_jkt": jkt,
    })
    url = f"{a}/oauth/authorize/?{query}"
    consent = session.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)
    if consent.status_code == 302:
        return parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    assert consent.status_code == 200, consent.status_code
    decision = session.post(
        url, data={"decision": "allow", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": url}, allow_redirects=False, timeout=HTTP_TIMEOUT,
    )
    assert decision.status_code == 303, decision.text[:500]
    return parse_qs(urlsplit(decision.headers["Location"]).query)["code"][0]


def test_a_bound_refresh_token_keeps_its_key_across_servers(two_servers):
    a, b = two_servers
    key = ProofKey("ES256")
    code = spa_code(a, key.jkt)
    redeem = {"grant_type": "authorization_code", "code": code, "redirect_uri": SPA_REDIRECT,
              "client_id": SPA_CLIENT, "code_verifier": VERIFIER}
    issued = post_token(b, a, redeem, key.proof("POST", a + "/oauth/token/"))
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "DPoP"

    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": SPA_CLIENT}
    other = ProofKey("ES256")
    refused = post_token(a, a, refresh, other.proof("POST", a + "/oauth/token/"))
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    rotated = post_token(a, a, refresh, key.proof("POST", a + "/oauth/token/"))
    assert rotated.status_code == 200, rotated.text
    access = rotated.json()["access_token"]
    assert get_me(b, a, access, key.proof("GET", a + "/api/me", access_token=access)).status_code == 200
    assert get_me(b, a, access, other.proof("GET", a + "/api/me", access_token=access)).status_code == 401
