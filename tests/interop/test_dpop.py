"""DPoP (RFC 9449) over real HTTP against a live server, with proofs signed by joserfc.

Happy paths for a public single-page-style client (code bound with dpop_jkt, refresh token bound to the
key) and a confidential client (refresh with a new key allowed, §5), then every refusal at the token
endpoint and at the demo API (/api/me).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from django.conf import settings
from django.test import override_settings

from oauth_provider import dpop
from oauth_provider.crypto import pkce_s256
from oauth_provider.models import AccessToken, RefreshToken
from tests.factories import ApplicationFactory, PublicApplicationFactory, UserFactory, WebApplicationFactory
from tests.helpers.dpop import ProofKey, hs256_proof, unsigned_proof
from tests.interop.test_authorization_code import log_in_and_consent

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT_URI = "https://client.example.test/callback"
VERIFIER = "dpop-interop-verifier-" + "v" * 30
TIMEOUT = 10


@pytest.fixture
def live(live_server):
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "ISSUER": live_server.url}):
        yield live_server.url


def token_url(live: str) -> str:
    return f"{live}/oauth/token/"


def post_token(live, data, *, key=None, proof=None, auth=None, **proof_claims):
    headers = {"Connection": "close"}
    if proof is None and key is not None:
        proof = key.proof("POST", token_url(live), **proof_claims)
    if proof is not None:
        headers["DPoP"] = proof
    return requests.post(token_url(live), data=data, auth=auth, headers=headers, timeout=TIMEOUT)


def call_me(live, access_token, *, key=None, scheme="DPoP", proof=None, **proof_claims):
    headers = {"Authorization": f"{scheme} {access_token}", "Connection": "close"}
    if proof is None and key is not None:
        proof = key.proof("GET", f"{live}/api/me", access_token=access_token, **proof_claims)
    if proof is not None:
        headers["DPoP"] = proof
    return requests.get(f"{live}/api/me", headers=headers, timeout=TIMEOUT)


def claims_of(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


def authorization_code(live, client_id, user, **extra) -> str:
    query = urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI, "scope": "read",
        "state": "s1", "code_challenge": pkce_s256(VERIFIER), "code_challenge_method": "S256", **extra,
    })
    location = log_in_and_consent(f"{live}/oauth/authorize/?{query}", user.username)
    return parse_qs(urlsplit(location).query)["code"][0]


def code_body(client_id, code):
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "client_id": client_id, "code_verifier": VERIFIER}


def assert_refused(response, error="invalid_dpop_proof", reason=""):
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert reason in response.json().get("error_description", "")


# --- a public, single-page-style client ----------------------------------------------------------


def test_public_client_gets_bound_tokens_and_uses_them_with_proofs(live):
    app = PublicApplicationFactory(redirect_uris=REDIRECT_URI, allowed_scopes="read")
    user = UserFactory()
    key = ProofKey("ES256")
    code = authorization_code(live, app.client_id, user, dpop_jkt=key.jkt)

    response = post_token(live, code_body(app.client_id, code), key=key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}
    assert AccessToken.objects.get(jti=claims_of(body["access_token"])["jti"]).dpop_jkt == key.jkt
    assert RefreshToken.objects.get(dpop_jkt=key.jkt).application_id == app.pk

    # The API accepts the token with a proof of the key, and refuses it alone, as Bearer.
    assert call_me(live, body["access_token"], key=key).status_code == 200
    as_bearer = call_me(live, body["access_token"], scheme="Bearer")
    assert as_bearer.status_code == 401
    assert as_bearer.headers["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_token"')
    stolen = call_me(live, body["access_token"], key=ProofKey("ES256"))
    assert stolen.status_code == 401
    assert 'error="invalid_dpop_proof"' in stolen.headers["WWW-Authenticate"]

    # The refresh token is bound too: another key is refused, the right one rotates it.
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": app.client_id}
    assert_refused(post_token(live, refresh, key=ProofKey("ES256")), "invalid_grant", "bound to another DPoP key")
    assert_refused(post_token(live, refresh), "invalid_grant", "DPoP")
    rotated = post_token(live, refresh, key=key)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["token_type"] == "DPoP"
    assert claims_of(rotated.json()["access_token"])["cnf"] == {"jkt": key.jkt}
    assert RefreshToken.objects.filter(dpop_jkt=key.jkt).count() == 2


def test_a_code_bound_with_dpop_jkt_needs_a_proof_of_that_key(live):
    app = PublicApplicationFactory(redirect_uris=REDIRECT_URI, allowed_scopes="read")
    key = ProofKey("ES256")
    # A user each time: a remembered consent would skip the page log_in_and_consent expects.
    code = authorization_code(live, app.client_id, UserFactory(), dpop_jkt=key.jkt)
    assert_refused(post_token(live, code_body(app.client_id, code)), "invalid_grant", "dpop_jkt")
    assert_refused(post_token(live, code_body(app.client_id, code), key=ProofKey("ES256")), "invalid_grant", "dpop_jkt")
    # The refusals did not spend the code: the key's holder still redeems it.
    assert post_token(live, code_body(app.client_id, code), key=key).status_code == 200
    assert_refused(post_token(live, code_body(app.client_id, code), key=key), "invalid_grant")


def test_a_malformed_dpop_jkt_is_refused_at_the_authorization_endpoint(live):
    app = PublicApplicationFactory(redirect_uris=REDIRECT_URI, allowed_scopes="read")
    with requests.Session() as browser:
        query = urlencode({"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT_URI,
                           "scope": "read", "state": "s", "code_challenge": pkce_s256(VERIFIER),
                           "code_challenge_method": "S256", "dpop_jkt": "not-a-thumbprint"})
        response = browser.get(f"{live}/oauth/authorize/?{query}", allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302
    location = parse_qs(urlsplit(response.headers["Location"]).query)
    assert location["error"] == ["invalid_request"]
    assert "dpop_jkt" in location["error_description"][0]


def test_a_public_client_without_dpop_still_gets_bearer_tokens(live):
    app = PublicApplicationFactory(redirect_uris=REDIRECT_URI, allowed_scopes="read")
    code = authorization_code(live, app.client_id, UserFactory())
    body = post_token(live, code_body(app.client_id, code)).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in claims_of(body["access_token"])
    assert call_me(live, body["access_token"], scheme="Bearer").status_code == 200
    # A bearer token presented with the DPoP scheme is refused, even with a good proof.
    refused = call_me(live, body["access_token"], key=ProofKey("ES256"))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith('DPoP realm="api", error="invalid_token"')


# --- a confidential client -----------------------------------------------------------------------


def test_confidential_client_gets_bound_tokens_and_may_refresh_with_a_new_key(live):
    app = WebApplicationFactory(redirect_uris=REDIRECT_URI, allowed_scopes="read")
    user = UserFactory()
    key = ProofKey("RS256")
    code = authorization_code(live, app.client_id, user)
    response = post_token(live, code_body(app.client_id, code), key=key, auth=(app.client_id, app.secret))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}
    assert call_me(live, body["access_token"], key=key).status_code == 200
    assert call_me(live, body["access_token"], scheme="Bearer").status_code == 401

    # Introspection reports the binding (RFC 9449 §6.2).
    api = ApplicationFactory(is_resource_server=True)
    introspected = requests.post(f"{live}/oauth/introspect/", data={"token": body["access_token"]},
                                 auth=(api.client_id, api.secret), timeout=TIMEOUT)
    assert introspected.status_code == 200, introspected.text
    assert introspected.json()["active"] is True
    assert introspected.json()["cnf"] == {"jkt": key.jkt}
    assert introspected.json()["token_type"] == "DPoP"

    # §5: a confidential client's refresh token is bound by client authentication, not to the key.
    new_key = ProofKey("ES256")
    refreshed = post_token(live, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                           key=new_key, auth=(app.client_id, app.secret))
    assert refreshed.status_code == 200, refreshed.text
    assert claims_of(refreshed.json()["access_token"])["cnf"] == {"jkt": new_key.jkt}
    assert call_me(live, refreshed.json()["access_token"], key=new_key).status_code == 200
    assert call_me(live, refreshed.json()["access_token"], key=key).status_code == 401


def test_a_client_registered_as_dpop_bound_must_send_a_proof(live):
    app = ApplicationFactory(dpop_bound_access_tokens=True)
    data = {"grant_type": "client_credentials"}
    assert_refused(post_token(live, data, auth=(app.client_id, app.secret)), reason="requires DPoP")
    ok = post_token(live, data, auth=(app.client_id, app.secret), key=ProofKey("ES256"))
    assert ok.status_code == 200
    assert ok.json()["token_type"] == "DPoP"


# --- refusals at the token endpoint ------------------------------------------------------------


@pytest.fixture
def service(live):
    return ApplicationFactory()


def cc(live, service, **kwargs):
    return post_token(live, {"grant_type": "client_credentials"}, auth=(service.client_id, service.secret), **kwargs)


def test_token_endpoint_refuses_a_wrong_htm(live, service):
    key = ProofKey("ES256")
    assert_refused(cc(live, service, proof=key.proof("GET", token_url(live))), reason="htm")


def test_token_endpoint_refuses_a_wrong_htu(live, service):
    key = ProofKey("ES256")
    assert_refused(cc(live, service, proof=key.proof("POST", f"{live}/oauth/revoke/")), reason="htu")


def test_token_endpoint_refuses_stale_and_future_iat(live, service):
    key = ProofKey("ES256")
    assert_refused(cc(live, service, key=key, iat=int(time.time()) - 600), reason="too old")
    assert_refused(cc(live, service, key=key, iat=int(time.time()) + 600), reason="future")


def test_token_endpoint_refuses_a_replayed_proof(live, service):
    proof = ProofKey("ES256").proof("POST", token_url(live))
    assert cc(live, service, proof=proof).status_code == 200
    assert_refused(cc(live, service, proof=proof), reason="already used")


def test_token_endpoint_refuses_a_proof_signed_by_a_different_key(live, service):
    key = ProofKey("ES256")
    assert_refused(cc(live, service, proof=key.proof("POST", token_url(live), signing_key=ProofKey("ES256").key)),
                   reason="signature")


def test_token_endpoint_refuses_a_private_key_in_the_header(live, service):
    key = ProofKey("ES256")
    assert_refused(cc(live, service, proof=key.proof("POST", token_url(live), header={"jwk": key.private_jwk})),
                   reason="private")


def test_token_endpoint_refuses_alg_none_and_hs256(live, service):
    claims = {"jti": "x1", "htm": "POST", "htu": token_url(live), "iat": int(time.time())}
    assert_refused(cc(live, service, proof=unsigned_proof(ProofKey("ES256").public_jwk, claims)), reason="algorithm")
    assert_refused(cc(live, service, proof=hs256_proof(claims)), reason="algorithm")


def test_token_endpoint_nonce(live, service):
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "ISSUER": live, "DPOP_NONCE_REQUIRED": True}):
        key = ProofKey("ES256")
        first = cc(live, service, key=key)
        assert_refused(first, "use_dpop_nonce")
        nonce = first.headers["DPoP-Nonce"]
        assert nonce == dpop.current_nonce()
        ok = cc(live, service, key=key, nonce=nonce)
        assert ok.status_code == 200, ok.text
        assert ok.headers["DPoP-Nonce"] == dpop.current_nonce()
        assert_refused(cc(live, service, key=key, nonce="made-up"), "use_dpop_nonce")


# --- refusals at the API ---------------------------------------------------------------------------


@pytest.fixture
def bound(live, service):
    key = ProofKey("ES256")
    response = cc(live, service, key=key)
    assert response.status_code == 200, response.text
    return key, response.json()["access_token"]


def api_refused(response, reason, error="invalid_dpop_proof"):
    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'DPoP realm="api", error="{error}"'), challenge
    assert reason in challenge
    assert 'algs="' in challenge


def test_api_refuses_a_wrong_htm(live, bound):
    key, access = bound
    api_refused(call_me(live, access, proof=key.proof("POST", f"{live}/api/me", access_token=access)), "htm")


def test_api_refuses_a_wrong_htu(live, bound):
    key, access = bound
    api_refused(call_me(live, access, proof=key.proof("GET", f"{live}/api/notes/", access_token=access)), "htu")


def test_api_refuses_stale_and_future_iat(live, bound):
    key, access = bound
    api_refused(call_me(live, access, key=key, iat=int(time.time()) - 600), "too old")
    api_refused(call_me(live, access, key=key, iat=int(time.time()) + 600), "future")


def test_api_refuses_a_replayed_proof(live, bound):
    key, access = bound
    proof = key.proof("GET", f"{live}/api/me", access_token=access)
    assert call_me(live, access, proof=proof).status_code == 200
    api_refused(call_me(live, access, proof=proof), "already used")


def test_api_refuses_a_missing_or_wrong_ath(live, bound):
    key, access = bound
    api_refused(call_me(live, access, proof=key.proof("GET", f"{live}/api/me")), "lacks the ath")
    api_refused(call_me(live, access, proof=key.proof("GET", f"{live}/api/me", access_token="other.token")),
                "ath does not match")


def test_api_refuses_a_different_key(live, bound):
    _, access = bound
    api_refused(call_me(live, access, key=ProofKey("ES256")), "not signed with the key")


def test_api_refuses_a_private_key_alg_none_and_hs256(live, bound):
    key, access = bound
    api_refused(call_me(live, access, proof=key.proof("GET", f"{live}/api/me", access_token=access,
                                                      header={"jwk": key.private_jwk})), "private")
    claims = {"jti": "n1", "htm": "GET", "htu": f"{live}/api/me", "iat": int(time.time()),
              "ath": dpop.access_token_hash(access)}
    api_refused(call_me(live, access, proof=unsigned_proof(key.public_jwk, claims)), "algorithm")
    api_refused(call_me(live, access, proof=hs256_proof(claims)), "algorithm")


def test_api_refuses_the_bound_token_as_bearer(live, bound):
    _, access = bound
    response = call_me(live, access, scheme="Bearer")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
