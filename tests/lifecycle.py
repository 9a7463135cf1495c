"""Helpers for the token-lifecycle endpoints (revocation, introspection)."""

from __future__ import annotations

from urllib.parse import urlencode

from .conftest import basic_auth
from .flows import token_request

FORM = "application/x-www-form-urlencoded"


def client_credentials_token(client, application, scope: str = "read") -> str:
    response = token_request(client, application, {"grant_type": "client_credentials", "scope": scope})
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def post_as(client, path: str, application, data: dict, secret: str | None = None, **extra):
    """POST a form to ``path`` as ``application``: HTTP Basic for confidential, client_id for public."""
    if application.is_confidential:
        extra["HTTP_AUTHORIZATION"] = basic_auth(application.client_id, secret or application.secret)
    else:
        data = {"client_id": application.client_id, **data}
    return client.post(path, data=urlencode(data), content_type=FORM, **extra)
