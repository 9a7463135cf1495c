"""Helpers that drive the user-facing flows through the Django test client."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from oauth_provider.crypto import pkce_s256

FORM = "application/x-www-form-urlencoded"
STATE = "xyz-state"
VERIFIER = "v" * 10 + secrets.token_urlsafe(40)


def authorize_params(application, **overrides) -> dict:
    params = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": application.redirect_uri_list[0],
        "scope": "read",
        "state": STATE,
        "code_challenge": pkce_s256(VERIFIER),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def authorize_url(application, **overrides) -> str:
    return "/oauth/authorize/?" + urlencode(authorize_params(application, **overrides))


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def fragment_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).fragment).items()}


def obtain_code(client, application, **overrides) -> str:
    """Log-in already done on ``client``; consent with Allow and return the code."""
    response = client.post(authorize_url(application, **overrides), {"decision": "allow"})
    assert response.status_code == 303, response.content
    return query_of(response["Location"])["code"]


def post_as(client, path: str, application, data: dict, secret: str | None = None, **extra):
    """POST a form to ``path`` as ``application``: HTTP Basic for confidential, client_id for public."""
    if application.is_confidential:
        extra["HTTP_AUTHORIZATION"] = basic_auth(application.client_id, secret or application.secret)
    else:
        data = {"client_id": application.client_id, **data}
    return client.post(path, data=urlencode(data), content_type=FORM, **extra)


def token_request(client, application, data: dict, **extra):
    """POST to the token endpoint as ``application`` (see ``post_as``)."""
    return post_as(client, "/oauth/token/", application, data, **extra)


def client_credentials_token(client, application, scope: str = "read") -> str:
    response = token_request(client, application, {"grant_type": "client_credentials", "scope": scope})
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def redeem(client, application, code: str, **overrides):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": (application.redirect_uri_list or [None])[0],
        "code_verifier": VERIFIER,
    }
    data.update(overrides)
    return token_request(client, application, {k: v for k, v in data.items() if v is not None})


def basic_auth(client_id: str, secret: str) -> str:
    """An HTTP Basic header value; both halves form-urlencoded first (RFC 6749 §2.3.1)."""
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()
