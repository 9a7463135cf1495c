"""Helpers for tests that talk HTTP to pytest-django's live server (loopback only)."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import jwt
import requests

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


def metadata(issuer: str) -> dict:
    """The live server's RFC 8414 metadata document."""
    # Connection: close, so no keep-alive thread of the live server outlives the test run.
    response = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10,
                            headers={"Connection": "close"})
    response.raise_for_status()
    return response.json()


def verify(issuer: str, token: str) -> dict:
    """Verify with PyJWT's JWKS client, keys fetched from the advertised jwks_uri."""
    jwks_client = jwt.PyJWKClient(metadata(issuer)["jwks_uri"])
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    return jwt.decode(token, signing_key.key, algorithms=["RS256", "ES256", "EdDSA"], audience=issuer, issuer=issuer)


PASSWORD = "correct horse battery staple"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


def log_in_and_consent(authorization_url: str, username: str) -> str:
    """Drive the browser part with requests: login form, consent form; return the redirect Location."""
    with requests.Session() as browser:
        return log_in_and_consent_in(browser, authorization_url, username)


def log_in_and_consent_in(browser: requests.Session, authorization_url: str, username: str) -> str:
    """The same in a browser session the caller keeps (its cookies: the provider's session)."""
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
