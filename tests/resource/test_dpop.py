"""DPoP-bound access tokens at APIs (RFC 9449 §7): middleware, DRF classes and @require_scopes on every style.

Proofs are signed by joserfc; tokens carry ``cnf.jkt`` (RFC 9449 §6.1) of the proof key.
"""

import time

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from oauth_provider import dpop
from tests.helpers.dpop import ProofKey
from tests.helpers.jwt import token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.resource.urls")]

STYLES = ["/function", "/class", "/drf-function", "/drf-scopes", "/drf-read-write", "/dpop-function", "/dpop-drf"]
DPOP_ONLY = ["/dpop-function", "/dpop-drf"]
ALGS = 'algs="ES256 RS256 PS256 EdDSA"'


@pytest.fixture(autouse=True)
def _clear_replay_cache():
    caches[settings.OAUTH_PROVIDER.get("DPOP_REPLAY_CACHE", "default")].clear()


@pytest.fixture
def key():
    return ProofKey("ES256")


def bound_token(key, **claims):
    return token(scope="read", cnf={"jkt": key.jkt}, **claims)


def dpop_headers(key, access_token, path, method="GET", **proof_claims):
    proof = key.proof(method, f"http://testserver{path}", access_token=access_token, **proof_claims)
    return {"HTTP_AUTHORIZATION": f"DPoP {access_token}", "HTTP_DPOP": proof}


def challenge_error(response):
    return response["WWW-Authenticate"]


@pytest.mark.parametrize("path", STYLES)
def test_bound_token_with_a_valid_proof_is_let_through(client, key, path):
    access = bound_token(key)
    response = client.get(path, **dpop_headers(key, access, path))
    assert response.status_code == 200, response.content
    assert response.json()["client_id"] == "client-1"


@pytest.mark.parametrize("path", DPOP_ONLY)
def test_the_view_sees_the_verified_proof(client, key, path):
    access = bound_token(key)
    assert client.get(path, **dpop_headers(key, access, path)).json()["jkt"] == key.jkt


def test_post_needs_a_proof_for_post(client, key):
    access = token(scope="write", cnf={"jkt": key.jkt})
    assert client.post("/class", **dpop_headers(key, access, "/class", method="POST")).status_code == 200
    response = client.post("/class", **dpop_headers(key, access, "/class", method="GET"))
    assert response.status_code == 401
    assert 'error="invalid_dpop_proof"' in response["WWW-Authenticate"]


@pytest.mark.parametrize("path", STYLES)
def test_bound_token_as_bearer_is_refused(client, key, path):
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {bound_token(key)}")
    assert response.status_code == 401
    header = response["WWW-Authenticate"]
    assert 'error="invalid_token"' in header
    if path in DPOP_ONLY:
        assert header.startswith("DPoP ")
    else:
        assert header.startswith('Bearer realm="api", error="invalid_token", error_description="The access token is '
                                 'bound to a DPoP key')


@pytest.mark.parametrize("path", STYLES)
def test_bound_token_as_bearer_with_a_valid_proof_is_still_refused(client, key, path):
    access = bound_token(key)
    headers = dpop_headers(key, access, path)
    headers["HTTP_AUTHORIZATION"] = f"Bearer {access}"
    assert client.get(path, **headers).status_code == 401


@pytest.mark.parametrize("path", STYLES)
def test_plain_bearer_token_with_the_dpop_scheme_is_refused(client, key, path):
    access = token(scope="read")
    response = client.get(path, **dpop_headers(key, access, path))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('DPoP realm="api", error="invalid_token"')
    assert response["WWW-Authenticate"].endswith(ALGS)


@pytest.mark.parametrize("path", DPOP_ONLY)
def test_a_view_requiring_dpop_refuses_bearer_tokens(client, path):
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token(scope='read')}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('DPoP realm="api", error="invalid_token"')
    assert "requires a DPoP-bound access token" in response["WWW-Authenticate"]


@pytest.mark.parametrize("path", DPOP_ONLY)
def test_a_view_requiring_dpop_challenges_with_dpop_alone(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f'DPoP realm="api", {ALGS}'


@pytest.mark.parametrize("path", ["/function", "/drf-scopes"])
def test_both_schemes_are_offered_where_both_are_accepted(client, path):
    assert client.get(path)["WWW-Authenticate"] == f'Bearer realm="api", DPoP realm="api", {ALGS}'


def refused(client, path, headers, reason, error="invalid_dpop_proof"):
    response = client.get(path, **headers)
    assert response.status_code == 401, response.content
    header = response["WWW-Authenticate"]
    assert header.startswith(f'DPoP realm="api", error="{error}"'), header
    assert reason in header
    assert header.endswith(ALGS)
    return response


@pytest.mark.parametrize("path", STYLES)
def test_missing_proof(client, key, path):
    headers = dpop_headers(key, bound_token(key), path)
    del headers["HTTP_DPOP"]
    refused(client, path, headers, "A DPoP proof is required")


@pytest.mark.parametrize("path", STYLES)
def test_proof_of_a_different_key(client, key, path):
    access = bound_token(key)
    refused(client, path, dpop_headers(ProofKey("ES256"), access, path), "not signed with the key")


@pytest.mark.parametrize("path", ["/function", "/drf-scopes", "/dpop-drf"])
def test_missing_ath(client, key, path):
    access = bound_token(key)
    headers = {"HTTP_AUTHORIZATION": f"DPoP {access}", "HTTP_DPOP": key.proof("GET", f"http://testserver{path}")}
    refused(client, path, headers, "lacks the ath")


@pytest.mark.parametrize("path", ["/function", "/drf-scopes", "/dpop-drf"])
def test_wrong_ath(client, key, path):
    access = bound_token(key)
    other = bound_token(key)
    headers = dpop_headers(key, other, path)
    headers["HTTP_AUTHORIZATION"] = f"DPoP {access}"
    refused(client, path, headers, "ath does not match")


def test_wrong_htm(client, key):
    refused(client, "/function", dpop_headers(key, bound_token(key), "/function", method="POST"), "htm")


def test_wrong_htu(client, key):
    refused(client, "/function", dpop_headers(key, bound_token(key), "/class"), "htu")


def test_htu_ignores_the_query(client, key):
    access = bound_token(key)
    assert client.get("/function?page=2", **dpop_headers(key, access, "/function")).status_code == 200


def test_stale_and_future_iat(client, key):
    access = bound_token(key)
    refused(client, "/function", dpop_headers(key, access, "/function", iat=int(time.time()) - 400), "too old")
    refused(client, "/function", dpop_headers(key, access, "/function", iat=int(time.time()) + 60), "future")


@pytest.mark.parametrize("path", STYLES)
def test_replayed_proof(client, key, path):
    headers = dpop_headers(key, bound_token(key), path)
    assert client.get(path, **headers).status_code == 200
    refused(client, path, headers, "already used")


def test_private_key_in_the_proof_header(client, key):
    access = bound_token(key)
    proof = key.proof("GET", "http://testserver/function", access_token=access, header={"jwk": key.private_jwk})
    refused(client, "/function", {"HTTP_AUTHORIZATION": f"DPoP {access}", "HTTP_DPOP": proof}, "private")


def test_invalid_cnf_claim(client, key):
    access = token(scope="read", cnf={"jkt": 5})
    response = client.get("/function", **dpop_headers(key, access, "/function"))
    assert response.status_code == 401
    assert "cnf claim is invalid" in response["WWW-Authenticate"]


@pytest.mark.parametrize("path", ["/function", "/drf-scopes", "/dpop-drf", "/drf-function"])
def test_nonce_required_at_the_api(client, key, path):
    access = bound_token(key)
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "RESOURCE_DPOP_NONCE_REQUIRED": True}):
        response = refused(client, path, dpop_headers(key, access, path), "nonce", error="use_dpop_nonce")
        nonce = response["DPoP-Nonce"]
        assert nonce == dpop.current_nonce()
        again = client.get(path, **dpop_headers(key, access, path, nonce=nonce))
        assert again.status_code == 200, again.content


def test_middleware_records_the_scheme_and_the_proof_error(client, key):
    access = bound_token(key)
    response = client.get("/open", HTTP_AUTHORIZATION=f"DPoP {access}")
    assert response.json() == {"oauth": None, "oauth_error": "invalid_dpop_proof"}
    response = client.get("/open", **dpop_headers(key, access, "/open"))
    assert response.json() == {"oauth": "client-1", "oauth_error": None}


def test_a_dpop_request_makes_no_database_query(client, key, django_assert_num_queries):
    access = bound_token(key)
    client.get("/function", **dpop_headers(key, access, "/function"))  # warm the key cache
    for path in ("/function", "/drf-scopes", "/dpop-drf"):
        headers = dpop_headers(key, access, path)
        with django_assert_num_queries(0):
            assert client.get(path, **headers).status_code == 200


def test_malformed_dpop_authorization(client):
    response = client.get("/function", HTTP_AUTHORIZATION="DPoP ")
    assert response.status_code == 400
    assert response["WWW-Authenticate"].startswith('DPoP realm="api", error="invalid_request"')


@pytest.mark.parametrize("path", ["/function", "/drf-scopes", "/dpop-drf", "/open"])
def test_successful_answers_carry_the_current_nonce_when_nonces_are_required(client, key, path):
    access = bound_token(key)
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "RESOURCE_DPOP_NONCE_REQUIRED": True}):
        response = client.get(path, **dpop_headers(key, access, path, nonce=dpop.current_nonce()))
        assert response.status_code == 200, response.content
        assert response["DPoP-Nonce"] == dpop.current_nonce()
    assert "DPoP-Nonce" not in client.get(path, **dpop_headers(key, access, path))


def test_bearer_answers_carry_no_nonce(client):
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "RESOURCE_DPOP_NONCE_REQUIRED": True}):
        response = client.get("/function", HTTP_AUTHORIZATION=f"Bearer {token(scope='read')}")
    assert response.status_code == 200
    assert "DPoP-Nonce" not in response
