"""DPoP at the token endpoint (RFC 9449 §5, §5.2, §8, §10) with Django's test client: every grant binds,
what is stored, introspection, metadata, CORS, nonces, and the query budgets (a proof costs no query).

The live-server tests (tests/interop/test_dpop.py) run the same flows over real HTTP.
"""

import jwt
import pytest
from django.conf import settings
from django.test import override_settings

from oauth_provider import dpop
from oauth_provider.crypto import digest
from oauth_provider.keys import get_signing_key
from oauth_provider.models import AccessToken, AuthorizationCode, RefreshToken
from tests.factories import ApplicationFactory, PublicApplicationFactory
from tests.helpers.device import decide, start
from tests.helpers.dpop import ProofKey
from tests.helpers.flows import VERIFIER, authorize_url, obtain_code, post_as, token_request

pytestmark = pytest.mark.django_db

TOKEN_URL = "http://testserver/oauth/token/"


def proof_of(key, **claims):
    return {"HTTP_DPOP": key.proof("POST", TOKEN_URL, **claims)}


def redeem(client, application, code, **extra):
    """Redeem ``code`` as ``application``; ``extra`` are request headers (flows.redeem takes parameters)."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": application.redirect_uri_list[0],
            "code_verifier": VERIFIER}
    return token_request(client, application, data, **extra)


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def key():
    return ProofKey("ES256")


def test_client_credentials_with_a_proof_is_bound(client, application, key):
    response = token_request(client, application, {"grant_type": "client_credentials"}, **proof_of(key))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}
    assert AccessToken.objects.get().dpop_jkt == key.jkt


def test_without_a_proof_nothing_changes(client, application):
    body = token_request(client, application, {"grant_type": "client_credentials"}).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in claims_of(body["access_token"])
    assert AccessToken.objects.get().dpop_jkt == ""


def test_a_bad_proof_is_invalid_dpop_proof_and_issues_nothing(client, application, key):
    response = token_request(client, application, {"grant_type": "client_credentials"},
                             HTTP_DPOP=key.proof("POST", "http://testserver/oauth/revoke/"))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_dpop_proof",
                               "error_description": "The DPoP proof's htu does not match the request URI."}
    assert response["Cache-Control"] == "no-store"
    assert not AccessToken.objects.exists()


def test_the_proof_is_checked_after_client_authentication(client, application, key):
    headers = proof_of(key, jti="after-auth")
    response = token_request(client, application, {"grant_type": "client_credentials"}, secret="x" * 40, **headers)
    assert response.status_code == 401
    # The failed request did not spend the proof's jti.
    again = token_request(client, application, {"grant_type": "client_credentials"}, **proof_of(key, jti="after-auth"))
    assert again.status_code == 200


def test_a_dpop_bound_client_must_send_a_proof(client, key):
    application = ApplicationFactory(dpop_bound_access_tokens=True)
    response = token_request(client, application, {"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"
    assert token_request(client, application, {"grant_type": "client_credentials"}, **proof_of(key)).status_code == 200


# --- codes and refresh tokens -------------------------------------------------------------------


def test_dpop_jkt_is_stored_on_the_code(user_client, public_app, key):
    obtain_code(user_client, public_app, dpop_jkt=key.jkt)
    assert AuthorizationCode.objects.get().dpop_jkt == key.jkt


def test_a_code_without_dpop_jkt_may_still_be_redeemed_with_a_proof(user_client, client, public_app, key):
    code = obtain_code(user_client, public_app)
    body = redeem(client, public_app, code, **proof_of(key)).json()
    assert body["token_type"] == "DPoP"
    assert RefreshToken.objects.get(token_digest=digest(body["refresh_token"])).dpop_jkt == key.jkt


@pytest.mark.parametrize("sent", [None, "other"])
def test_a_bound_code_is_refused_without_its_key_and_stays_usable(user_client, client, public_app, key, sent):
    code = obtain_code(user_client, public_app, dpop_jkt=key.jkt)
    headers = proof_of(ProofKey("ES256")) if sent else {}
    response = redeem(client, public_app, code, **headers)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert AuthorizationCode.objects.get().used_at is None
    assert redeem(client, public_app, code, **proof_of(key)).status_code == 200


@pytest.mark.security("S36")
def test_a_public_clients_refresh_token_is_bound_and_rotates_bound(user_client, client, public_app, key):
    body = redeem(client, public_app, obtain_code(user_client, public_app, dpop_jkt=key.jkt), **proof_of(key)).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    for headers in ({}, proof_of(ProofKey("ES256"))):
        refused = token_request(client, public_app, refresh, **headers)
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"
    # The refusals neither rotated nor revoked it.
    token = RefreshToken.objects.get(token_digest=digest(body["refresh_token"]))
    assert token.used_at is None and token.revoked_at is None
    rotated = token_request(client, public_app, refresh, **proof_of(key))
    assert rotated.status_code == 200
    new = RefreshToken.objects.get(token_digest=digest(rotated.json()["refresh_token"]))
    assert new.dpop_jkt == key.jkt and new.family_id == token.family_id


def test_a_used_bound_refresh_token_with_another_key_does_not_revoke_the_family(user_client, client, public_app, key):
    body = redeem(client, public_app, obtain_code(user_client, public_app), **proof_of(key)).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    rotated = token_request(client, public_app, refresh, **proof_of(key)).json()
    # A thief replays the old token with its own key: refused, and the family lives on.
    assert token_request(client, public_app, refresh, **proof_of(ProofKey("ES256"))).status_code == 400
    second = {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    assert token_request(client, public_app, second, **proof_of(key)).status_code == 200


def test_a_confidential_clients_refresh_token_is_not_bound(user_client, client, web_app, key):
    body = redeem(client, web_app, obtain_code(user_client, web_app), **proof_of(key)).json()
    assert body["token_type"] == "DPoP"
    assert RefreshToken.objects.get(token_digest=digest(body["refresh_token"])).dpop_jkt == ""
    other = ProofKey("ES256")
    refreshed = token_request(client, web_app, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                              **proof_of(other)).json()
    assert claims_of(refreshed["access_token"])["cnf"] == {"jkt": other.jkt}


def test_a_public_clients_unbound_refresh_token_refreshed_with_a_proof_becomes_bound(user_client, client, public_app,
                                                                                      key):
    body = redeem(client, public_app, obtain_code(user_client, public_app)).json()
    assert body["token_type"] == "Bearer"
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    rotated = token_request(client, public_app, refresh, **proof_of(key)).json()
    assert rotated["token_type"] == "DPoP"
    next_refresh = {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    assert token_request(client, public_app, next_refresh).json()["error"] == "invalid_grant"


def test_the_device_grant_binds_too(client, user_client, device_app, key):
    grant = start(client, device_app)
    decide(user_client, grant["user_code"])
    data = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": grant["device_code"]}
    response = token_request(client, device_app, data, **proof_of(key))
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    assert RefreshToken.objects.get().dpop_jkt == key.jkt


@pytest.mark.parametrize("jkt", ["x" * 42, "x" * 44, "a+b/" + "c" * 39])
def test_malformed_dpop_jkt_is_refused(user_client, public_app, jkt):
    response = user_client.post(authorize_url(public_app, dpop_jkt=jkt), {"decision": "allow"})
    assert response.status_code == 303
    assert "error=invalid_request" in response["Location"]
    assert not AuthorizationCode.objects.exists()


# --- nonces -----------------------------------------------------------------------------------------


@pytest.fixture
def nonces():
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "DPOP_NONCE_REQUIRED": True}):
        yield


def test_nonce_required_then_given(client, application, key, nonces):
    first = token_request(client, application, {"grant_type": "client_credentials"}, **proof_of(key))
    assert first.status_code == 400
    assert first.json()["error"] == "use_dpop_nonce"
    assert first["DPoP-Nonce"] == dpop.current_nonce()
    ok = token_request(client, application, {"grant_type": "client_credentials"},
                       **proof_of(key, nonce=first["DPoP-Nonce"]))
    assert ok.status_code == 200
    assert ok["DPoP-Nonce"] == dpop.current_nonce()


def test_a_client_not_using_dpop_is_not_asked_for_a_nonce(client, application, nonces):
    response = token_request(client, application, {"grant_type": "client_credentials"})
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_no_nonce_header_when_nonces_are_off(client, application, key):
    response = token_request(client, application, {"grant_type": "client_credentials"}, **proof_of(key))
    assert "DPoP-Nonce" not in response


# --- introspection, metadata, CORS ------------------------------------------------------------------


def test_introspection_reports_the_binding(client, application, key):
    access = token_request(client, application, {"grant_type": "client_credentials"}, **proof_of(key)).json()
    body = post_as(client, "/oauth/introspect/", application, {"token": access["access_token"]}).json()
    assert body["active"] is True
    assert body["token_type"] == "DPoP"
    assert body["cnf"] == {"jkt": key.jkt}


def test_introspection_of_a_bearer_token_has_no_cnf(client, application):
    access = token_request(client, application, {"grant_type": "client_credentials"}).json()
    body = post_as(client, "/oauth/introspect/", application, {"token": access["access_token"]}).json()
    assert body["token_type"] == "Bearer" and "cnf" not in body


def test_metadata_lists_the_proof_algorithms(client):
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA"]
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "DPOP_SIGNING_ALGORITHMS": ["ES256"]}):
        assert client.get("/.well-known/oauth-authorization-server").json()[
            "dpop_signing_alg_values_supported"] == ["ES256"]


def test_browser_clients_may_send_proofs_and_read_nonces(client):
    origin = "https://spa.example.test"
    spa = PublicApplicationFactory(allowed_origins=origin)
    preflight = client.options("/oauth/token/", HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                               HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, dpop")
    assert "DPoP" in preflight["Access-Control-Allow-Headers"]
    response = token_request(client, spa, {"grant_type": "refresh_token", "refresh_token": "x"}, HTTP_ORIGIN=origin)
    assert response["Access-Control-Expose-Headers"] == "DPoP-Nonce"


# --- cost ---------------------------------------------------------------------------------------------


def test_a_proof_costs_no_query_for_client_credentials(client, application, django_assert_num_queries):
    key = ProofKey("ES256")
    token_request(client, application, {"grant_type": "client_credentials"})  # warm the key cache
    # client look-up, access-token insert, audit insert: as without DPoP
    with django_assert_num_queries(3):
        response = token_request(client, application, {"grant_type": "client_credentials"}, **proof_of(key))
    assert response.json()["token_type"] == "DPoP"


def test_a_proof_costs_no_query_for_a_bound_code(user_client, client, public_app, django_assert_num_queries):
    key = ProofKey("ES256")
    get_signing_key()
    code = obtain_code(user_client, public_app, dpop_jkt=key.jkt)
    # application; code (+user); update code; insert refresh; insert access; audit: as without DPoP
    with django_assert_num_queries(6):
        response = redeem(client, public_app, code, **proof_of(key))
    assert response.status_code == 200


def test_dpop_jkt_pushed_with_par_binds_the_code(user_client, client, public_app, key):
    """RFC 9449 §10 with RFC 9126: dpop_jkt inside a pushed request binds the code it leads to; the code is
    then redeemed only with a proof of that key."""
    from urllib.parse import urlencode

    from tests.helpers.flows import authorize_params, query_of

    params = authorize_params(public_app, dpop_jkt=key.jkt)
    pushed = post_as(client, "/oauth/par/", public_app, {k: v for k, v in params.items() if k != "client_id"})
    assert pushed.status_code == 201, pushed.content
    query = urlencode({"client_id": public_app.client_id, "request_uri": pushed.json()["request_uri"]})
    decided = user_client.post(f"/oauth/authorize/?{query}", {"decision": "allow"})
    assert decided.status_code == 303, decided.content
    code = query_of(decided["Location"])["code"]
    assert AuthorizationCode.objects.get().dpop_jkt == key.jkt
    assert redeem(client, public_app, code).json()["error"] == "invalid_grant"  # no proof: refused, not spent
    body = redeem(client, public_app, code, **proof_of(key)).json()
    assert body["token_type"] == "DPoP" and claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}
