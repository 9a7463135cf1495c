"""The admin registers private_key_jwt clients (keys, signing alg), PAR-only clients and resource scopes."""

import json

import pytest

from oauth_provider.models import Application
from tests.factories import UserFactory
from tests.helpers.assertions import client_key, private_key_jwt_client

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/oauth_provider/application/add/"
KEYS = {"keys": [client_key()[1]]}


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def add_form(**overrides):
    data = {
        "name": "Bank connector",
        "client_type": "confidential",
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": json.dumps(KEYS),
        "grant_types": ["client_credentials"],
        "allowed_scopes": "read",
        "default_scopes": "read",
        "require_pkce": "on",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_a_private_key_jwt_client_is_created_without_a_secret(staff_client):
    response = staff_client.post(ADD_URL, add_form(token_endpoint_auth_signing_alg="ES256",
                                                   require_pushed_authorization_requests="on"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert "/secret/" not in response["Location"]
    app = Application.objects.get(name="Bank connector")
    assert app.uses_private_key_jwt and not app.has_secret and app.jwks == KEYS
    assert app.token_endpoint_auth_signing_alg == "ES256" and app.require_pushed_authorization_requests


@pytest.mark.parametrize(
    "overrides",
    [
        {"jwks": ""},
        {"jwks": json.dumps({"keys": [{"kty": "oct", "k": "eA", "kid": "m"}]})},
        {"jwks": "", "jwks_uri": "http://keys.example.test/jwks"},
        {"token_endpoint_auth_signing_alg": "HS256"},
    ],
)
def test_unusable_keys_are_refused_in_the_form(staff_client, overrides):
    response = staff_client.post(ADD_URL, add_form(**overrides))
    assert response.status_code == 200 and not Application.objects.filter(name="Bank connector").exists()


def test_the_rotate_secret_action_refuses_a_key_client(staff_client):
    app = private_key_jwt_client()
    response = staff_client.post("/admin/oauth_provider/application/",
                                 {"action": "rotate_secret", "_selected_action": [app.pk]}, follow=True)
    assert "authenticate with their keys" in response.content.decode()
    app.refresh_from_db()
    assert not app.has_secret


def test_resource_scopes_are_edited_with_the_resource_server(staff_client):
    response = staff_client.post(ADD_URL, add_form(
        token_endpoint_auth_method="", jwks="", is_resource_server="on",
        resource_audiences="https://api.example.test/", resource_scopes="write",
    ))
    assert response.status_code == 302 and "/secret/" in response["Location"]  # a secret, shown once
    app = Application.objects.get(name="Bank connector")
    assert app.resource_scope_list == ["write"] and app.has_secret
