"""Server metadata (RFC 8414) and the JWKS document."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db
METADATA_URL = "/.well-known/oauth-authorization-server"


def test_metadata_names_issuer_endpoints_and_capabilities(client):
    response = client.get(METADATA_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["issuer"] == "http://testserver"
    assert document["token_endpoint"] == "http://testserver/oauth/token/"
    assert document["jwks_uri"] == "http://testserver/oauth/jwks/"
    assert "client_credentials" in document["grant_types_supported"]
    assert {"client_secret_basic", "client_secret_post"} <= set(document["token_endpoint_auth_methods_supported"])
    # The OpenID Connect scopes are built in (OIDC_SCOPES), then the configured SCOPES.
    assert document["scopes_supported"] == ["openid", "profile", "email", "address", "phone", "read", "write", "admin"]
    assert isinstance(document["response_types_supported"], list)


def test_metadata_has_no_null_members(client):
    assert None not in client.get(METADATA_URL).json().values()


def test_every_advertised_endpoint_answers(client):
    document = client.get(METADATA_URL).json()
    for name, url in document.items():
        if name.endswith("_endpoint") or name == "jwks_uri":
            path = url.removeprefix("http://testserver")
            assert client.options(path).status_code != 404, name


def test_metadata_and_jwks_are_cacheable(client):
    for url in (METADATA_URL, "/oauth/jwks/"):
        assert client.get(url)["Cache-Control"] == "public, max-age=300"


def test_issuer_with_a_path_uses_the_path_appended_form(client, settings):
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "ISSUER": "http://testserver/tenant1"}):
        assert client.get(METADATA_URL + "/tenant1").json()["issuer"] == "http://testserver/tenant1"
        assert client.get(METADATA_URL).status_code == 404
        assert client.get(METADATA_URL + "/tenant2").status_code == 404


def test_path_appended_form_is_404_without_an_issuer_path(client):
    assert client.get(METADATA_URL + "/anything").status_code == 404


def test_metadata_refuses_post(client):
    assert client.post(METADATA_URL).status_code == 405


def test_jwks_publishes_the_signing_key(client):
    document = client.get("/oauth/jwks/").json()
    assert len(document["keys"]) == 1
    assert document["keys"][0]["use"] == "sig"
