"""Server metadata for the user-facing flows (RFC 8414, RFC 9207, RFC 7636)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(client):
    return client.get("/.well-known/oauth-authorization-server").json()


def test_metadata_names_the_authorization_endpoint(document):
    assert document["authorization_endpoint"] == "http://testserver/oauth/authorize/"


def test_metadata_advertises_code_with_s256_only(document):
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]


def test_metadata_advertises_the_iss_parameter(document):
    assert document["authorization_response_iss_parameter_supported"] is True


def test_metadata_lists_the_new_grants_and_none_auth(document):
    assert {"authorization_code", "refresh_token", "password"} <= set(document["grant_types_supported"])
    assert "implicit" not in document["grant_types_supported"]
    assert "none" in document["token_endpoint_auth_methods_supported"]


def test_metadata_without_the_code_grant_has_no_authorization_endpoint(client, settings):
    settings.OAUTH_PROVIDER = {
        **settings.OAUTH_PROVIDER,
        "GRANT_TYPES": {
            "client_credentials": "oauth_provider.grants.client_credentials.ClientCredentialsGrant",
        },
    }
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert "authorization_endpoint" not in document
    assert "code_challenge_methods_supported" not in document
    assert document["response_types_supported"] == []
