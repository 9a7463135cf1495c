"""Dynamic registration (RFC 7591) of private_key_jwt clients: jwks, jwks_uri, signing alg, PAR flag."""

from __future__ import annotations

import json

import pytest

from oauth_provider.models import Application
from tests.helpers.assertions import client_key

pytestmark = pytest.mark.django_db
REGISTER = "/oauth/register/"
SERVICE_CLIENT = {"client_name": "Batch job", "grant_types": ["client_credentials"], "scope": "read write"}
KEYS = {"keys": [client_key()[1]]}
KEY_CLIENT = {**SERVICE_CLIENT, "token_endpoint_auth_method": "private_key_jwt", "jwks": KEYS}


def register(client, metadata):
    return client.post(REGISTER, data=json.dumps(metadata), content_type="application/json")


def registered(client, metadata) -> dict:
    response = register(client, metadata)
    assert response.status_code == 201, response.content
    return response.json()


def manage(client, method, info, body):
    path = info["registration_client_uri"].removeprefix("http://testserver")
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Bearer {info['registration_access_token']}")


@pytest.fixture(autouse=True)
def open_registration(settings):
    # The server opts in to registered clients asking for write too (the default is DEFAULT_SCOPES only).
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "REGISTRATION_MODE": "open",
                               "REGISTRATION_SCOPES": ["read", "write"]}


def test_a_private_key_jwt_client_registers_its_keys_and_gets_no_secret(client):
    info = registered(client, {**KEY_CLIENT, "token_endpoint_auth_signing_alg": "PS256"})
    assert "client_secret" not in info and "client_secret_expires_at" not in info
    assert info["token_endpoint_auth_method"] == "private_key_jwt"
    assert info["jwks"] == KEYS and info["token_endpoint_auth_signing_alg"] == "PS256"
    app = Application.objects.get(client_id=info["client_id"])
    assert app.uses_private_key_jwt and app.is_confidential and not app.has_secret and app.jwks == KEYS


def test_a_jwks_uri_is_registered(client):
    info = registered(client, {**SERVICE_CLIENT, "token_endpoint_auth_method": "private_key_jwt",
                               "jwks_uri": "https://keys.example.test/jwks.json"})
    assert info["jwks_uri"] == "https://keys.example.test/jwks.json" and "jwks" not in info


@pytest.mark.parametrize(
    "change",
    [
        {"jwks": None},  # private_key_jwt without keys
        {"jwks_uri": "https://keys.example.test/jwks"},  # both
        {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "m"}]}},
        {"jwks": "not a set"},
        {"jwks": None, "jwks_uri": "http://keys.example.test/jwks"},
        {"jwks": None, "jwks_uri": "https://127.0.0.1/jwks"},
        {"token_endpoint_auth_signing_alg": "HS256"},
        {"token_endpoint_auth_signing_alg": "none"},
        {"token_endpoint_auth_method": "client_secret_jwt"},
        {"require_pushed_authorization_requests": "yes"},
    ],
)
def test_bad_key_metadata_is_invalid_client_metadata(client, change):
    metadata = {k: v for k, v in {**KEY_CLIENT, **change}.items() if v is not None}
    response = register(client, metadata)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


def test_client_secret_jwt_is_refused_with_the_reason(client):
    response = register(client, {**SERVICE_CLIENT, "token_endpoint_auth_method": "client_secret_jwt"})
    assert "digest" in response.json()["error_description"]


def test_a_signing_alg_without_private_key_jwt_is_refused(client):
    response = register(client, {**SERVICE_CLIENT, "token_endpoint_auth_signing_alg": "RS256"})
    assert response.json()["error"] == "invalid_client_metadata"


def test_require_pushed_authorization_requests_is_client_metadata(client):
    info = registered(client, {**KEY_CLIENT, "require_pushed_authorization_requests": True})
    assert info["require_pushed_authorization_requests"] is True
    assert Application.objects.get(client_id=info["client_id"]).require_pushed_authorization_requests


def test_a_secret_client_cannot_switch_to_keys_through_client_configuration(client):
    """RFC 7592 updates never change how a client authenticates (docs/SECURITY.md S28): register a new one."""
    info = registered(client, SERVICE_CLIENT)
    assert "client_secret" in info
    response = manage(client, "put", info, body={**KEY_CLIENT, "client_id": info["client_id"]})
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"
    app = Application.objects.get(client_id=info["client_id"])
    assert app.has_secret and app.jwks is None and not app.uses_private_key_jwt


def test_a_key_client_cannot_switch_to_a_secret_through_client_configuration(client):
    info = registered(client, KEY_CLIENT)
    body = {**SERVICE_CLIENT, "client_id": info["client_id"], "token_endpoint_auth_method": "client_secret_basic"}
    response = manage(client, "put", info, body=body)
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"
    app = Application.objects.get(client_id=info["client_id"])
    assert app.uses_private_key_jwt and not app.has_secret and app.jwks == KEYS
