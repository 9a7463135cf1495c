"""Interoperability: a real third-party OAuth client (Authlib) against a live server.

Authorization code + PKCE S256, with the RFC 9207 ``iss`` parameter, then a refresh; the access
token is verified with PyJWT against the served JWKS.
"""


import jwt
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.factories import UserFactory, WebApplicationFactory
from tests.helpers.live import log_in_and_consent

REDIRECT_URI = "https://client.example.test/callback"
PASSWORD = "correct horse battery staple"
@pytest.mark.django_db(transaction=True)
def test_authlib_client_runs_code_pkce_and_refresh(live_issuer):
    app = WebApplicationFactory(redirect_uris=REDIRECT_URI)
    user = UserFactory()
    token_url = f"{live_issuer}/oauth/token/"
    session = OAuth2Session(
        app.client_id,
        app.secret,
        scope="read write",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    authorization_url, _state = session.create_authorization_url(
        f"{live_issuer}/oauth/authorize/", code_verifier=verifier
    )

    location = log_in_and_consent(authorization_url, user.username)
    assert location.startswith(REDIRECT_URI)
    assert f"iss={requests.utils.quote(live_issuer, safe='')}" in location

    token = session.fetch_token(token_url, authorization_response=location, code_verifier=verifier)
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "read write"

    jwks_client = jwt.PyJWKClient(f"{live_issuer}/oauth/jwks/")
    signing_key = jwks_client.get_signing_key_from_jwt(token["access_token"])
    claims = jwt.decode(token["access_token"], signing_key.key, algorithms=["RS256"], audience=live_issuer)
    assert claims["sub"] == str(user.pk)
    assert claims["iss"] == live_issuer
    assert jwt.get_unverified_header(token["access_token"])["typ"] == "at+jwt"

    refreshed = session.refresh_token(token_url, refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["access_token"] != token["access_token"]
    session.close()  # no keep-alive connection may outlive the live server's database connection
