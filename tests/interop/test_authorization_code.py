"""Interoperability: a real third-party OAuth client (Authlib) against a live server.

Authorization code + PKCE S256, with the RFC 9207 ``iss`` parameter, then a refresh; the access
token is verified with PyJWT against the served JWKS.
"""

import re
from urllib.parse import urljoin

import jwt
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.factories import UserFactory, WebApplicationFactory

REDIRECT_URI = "https://client.example.test/callback"
PASSWORD = "correct horse battery staple"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


def log_in_and_consent(authorization_url: str, username: str) -> str:
    """Drive the browser part with requests: login form, consent form; return the redirect Location."""
    with requests.Session() as browser:
        return _log_in_and_consent(browser, authorization_url, username)


def _log_in_and_consent(browser: requests.Session, authorization_url: str, username: str) -> str:
    login_page = browser.get(authorization_url, timeout=10)
    assert "/accounts/login/" in login_page.url
    consent_page = browser.post(
        login_page.url,
        data={
            "username": username,
            "password": PASSWORD,
            "next": re.search(r'name="next" value="([^"]*)"', login_page.text).group(1).replace("&amp;", "&"),
            "csrfmiddlewaretoken": CSRF_INPUT.search(login_page.text).group(1),
        },
        timeout=10,
    )
    assert consent_page.status_code == 200
    assert "Allow" in consent_page.text
    action = FORM_ACTION.search(consent_page.text).group(1).replace("&amp;", "&")
    decision = browser.post(
        urljoin(consent_page.url, action),
        data={"decision": "allow", "csrfmiddlewaretoken": CSRF_INPUT.search(consent_page.text).group(1)},
        allow_redirects=False,
        timeout=10,
    )
    assert decision.status_code == 303
    return decision.headers["Location"]


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
