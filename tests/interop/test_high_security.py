"""Interoperability: real client libraries against a live server, for private_key_jwt (Authlib's
``PrivateKeyJWT`` client auth), pushed authorization requests (requests) and resource indicators.

Authlib signs assertions valid for an hour by default; this server accepts at most
CLIENT_ASSERTION_MAX_LIFETIME (300 s), so the client is given a one-minute ``exp``, which Authlib allows.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc.jwk import RSAKey

from oauth_provider.clients.assertion import CLIENT_ASSERTION_TYPE
from tests.factories import ApplicationFactory, UserFactory
from tests.helpers.assertions import client_key, private_key_jwt_client
from tests.helpers.flows import VERIFIER, query_of
from tests.helpers.live import log_in_and_consent, metadata, verify

REDIRECT_URI = "https://keys.example.test/callback"
pytestmark = pytest.mark.django_db(transaction=True)


class OneMinutePrivateKeyJWT(PrivateKeyJWT):
    """Authlib's private_key_jwt with a fresh one-minute exp (and so a fresh jti) per request."""

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + 60}
        return super().sign(auth, token_endpoint)


def authlib_session(app, **kwargs) -> OAuth2Session:
    private, public = client_key()
    key = RSAKey.import_key(_private_jwk(private, public["kid"]))
    # Authlib authenticates revocation and introspection with revocation_endpoint_auth_method.
    session = OAuth2Session(app.client_id, key, token_endpoint_auth_method="private_key_jwt",
                            revocation_endpoint_auth_method="private_key_jwt", **kwargs)
    session.register_client_auth_method(OneMinutePrivateKeyJWT(alg="RS256", headers={"kid": public["kid"]}))
    return session


def _private_jwk(private, kid: str) -> dict:
    from jwt.algorithms import RSAAlgorithm

    return {**RSAAlgorithm.to_jwk(private, as_dict=True), "kid": kid}


@pytest.fixture
def resource(live_issuer):
    uri = f"{live_issuer}/api/notes/"
    ApplicationFactory(is_resource_server=True, resource_audiences=uri, resource_scopes="read")
    return uri


def test_authlib_private_key_jwt_client_credentials_for_a_resource(live_issuer, resource):
    document = metadata(live_issuer)
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    app = private_key_jwt_client()
    with authlib_session(app) as session:
        token = session.fetch_token(document["token_endpoint"], grant_type="client_credentials", scope="read",
                                    resource=resource)
    claims = verify_for(live_issuer, token["access_token"], resource)
    assert claims["aud"] == resource and claims["client_id"] == app.client_id


def verify_for(issuer: str, token: str, audience: str) -> dict:
    import jwt

    jwks_client = jwt.PyJWKClient(metadata(issuer)["jwks_uri"])
    key = jwks_client.get_signing_key_from_jwt(token).key
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=issuer)


def test_authlib_assertions_revoke_and_introspect(live_issuer):
    app = private_key_jwt_client()
    document = metadata(live_issuer)
    with authlib_session(app) as session:
        token = session.fetch_token(document["token_endpoint"], grant_type="client_credentials")
        verify(live_issuer, token["access_token"])
        introspected = session.introspect_token(document["introspection_endpoint"], token=token["access_token"])
        assert introspected.status_code == 200 and introspected.json()["active"] is True
        revoked = session.revoke_token(document["revocation_endpoint"], token=token["access_token"])
        assert revoked.status_code == 200
        again = session.introspect_token(document["introspection_endpoint"], token=token["access_token"])
        assert again.json() == {"active": False}


def test_an_authlib_assertion_replayed_with_requests_is_invalid_client(live_issuer):
    app = private_key_jwt_client()
    token_url = metadata(live_issuer)["token_endpoint"]
    captured = {}

    class Capturing(OneMinutePrivateKeyJWT):
        def sign(self, auth, token_endpoint):
            captured["assertion"] = super().sign(auth, token_endpoint)
            return captured["assertion"]

    private, public = client_key()
    session = OAuth2Session(app.client_id, RSAKey.import_key(_private_jwk(private, public["kid"])),
                            token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(Capturing(alg="RS256", headers={"kid": public["kid"]}))
    with session:
        session.fetch_token(token_url, grant_type="client_credentials")
    replay = requests.post(token_url, data={"grant_type": "client_credentials", "client_assertion_type":
                                            CLIENT_ASSERTION_TYPE, "client_assertion": captured["assertion"]},
                           timeout=10, headers={"Connection": "close"})
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"


def test_push_with_requests_authorize_in_a_browser_redeem_with_authlib(live_issuer, resource):
    """The "Done when" scenario: private_key_jwt, a pushed request for one resource, a token for it."""
    from oauth_provider.crypto import pkce_s256

    app = private_key_jwt_client(redirect_uris=REDIRECT_URI, require_pushed_authorization_requests=True)
    user = UserFactory()
    document = metadata(live_issuer)
    par_url = document["pushed_authorization_request_endpoint"]
    # The assertion for the push is signed by Authlib (RFC 7523 §2.2, aud = the PAR endpoint), sent with requests.
    private, public = client_key()
    assertion = private_key_jwt_sign(RSAKey.import_key(_private_jwk(private, public["kid"])), app.client_id,
                                     par_url, alg="RS256", claims={"exp": int(time.time()) + 60},
                                     header={"kid": public["kid"]})
    pushed = requests.post(par_url, data={
        "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "read", "state": "s-1",
        "code_challenge": pkce_s256(VERIFIER), "code_challenge_method": "S256", "resource": resource,
        "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion,
    }, timeout=10, headers={"Connection": "close"})
    assert pushed.status_code == 201, pushed.text
    body = pushed.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:") and body["expires_in"] == 60
    authorization_url = f"{document['authorization_endpoint']}?" + urlencode(
        {"client_id": app.client_id, "request_uri": body["request_uri"]})
    location = log_in_and_consent(authorization_url, user.username)
    answer = query_of(location)
    assert location.startswith(REDIRECT_URI) and answer["state"] == "s-1" and answer["iss"] == live_issuer
    with authlib_session(app, redirect_uri=REDIRECT_URI) as session:
        token = session.fetch_token(document["token_endpoint"], grant_type="authorization_code",
                                    code=answer["code"], code_verifier=VERIFIER, resource=resource)
    claims = verify_for(live_issuer, token["access_token"], resource)
    assert claims["aud"] == resource and claims["sub"] == str(user.pk) and claims["scope"] == "read"
    # The request_uri was used up by the decision: a second browser is refused, without a redirect.
    with requests.Session() as other:
        again = other.get(authorization_url, timeout=10, allow_redirects=False)
    assert again.status_code == 400 and "Location" not in again.headers


def test_a_direct_request_is_refused_for_a_par_only_client(live_issuer):
    app = private_key_jwt_client(redirect_uris=REDIRECT_URI, require_pushed_authorization_requests=True)
    direct = requests.get(f"{live_issuer}/oauth/authorize/?" + urlencode({
        "client_id": app.client_id, "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "read",
        "code_challenge": "x" * 43, "code_challenge_method": "S256"}), allow_redirects=False, timeout=10,
        headers={"Connection": "close"})
    assert direct.status_code == 302
    assert query_of(direct.headers["Location"])["error"] == "invalid_request"
