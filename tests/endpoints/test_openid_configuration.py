"""OpenID Connect Discovery 1.0: /.well-known/openid-configuration, consistent with RFC 8414's document."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db
URL = "/.well-known/openid-configuration"

# Discovery §3: REQUIRED members (token_endpoint is required unless only the implicit flow is served).
REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported",
            "subject_types_supported", "id_token_signing_alg_values_supported")


def test_the_document_has_every_required_member(client):
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    for name in REQUIRED:
        assert name in document, name
    assert document["issuer"] == "http://testserver"
    assert "code" in document["response_types_supported"]
    assert document["subject_types_supported"] == ["public", "pairwise"]
    assert "RS256" in document["id_token_signing_alg_values_supported"]
    assert None not in document.values()


def test_the_members_that_apply(client):
    document = client.get(URL).json()
    assert document["userinfo_endpoint"] == "http://testserver/oauth/userinfo/"
    assert document["end_session_endpoint"] == "http://testserver/oauth/logout/"
    assert document["id_token_signing_alg_values_supported"] == ["RS256", "ES256", "EdDSA"]
    assert document["prompt_values_supported"] == ["none", "login", "consent", "select_account"]
    assert document["claims_parameter_supported"] is True
    assert document["response_modes_supported"] == ["query"]
    assert {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email", "name", "at_hash"} <= set(
        document["claims_supported"]
    )
    assert "openid" in document["scopes_supported"]


def test_request_objects_are_not_supported_and_say_so(client):
    document = client.get(URL).json()
    assert document["request_parameter_supported"] is False
    # request_uri is supported for the references our PAR endpoint hands out (RFC 9126 §4), and only then.
    assert document["request_uri_parameter_supported"] is True
    assert document["pushed_authorization_request_endpoint"].endswith("/oauth/par/")


def test_the_document_equals_the_rfc_8414_document(client):
    assert client.get(URL).json() == client.get("/.well-known/oauth-authorization-server").json()


def test_an_issuer_with_a_path_serves_it_after_the_path(client, settings):
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "ISSUER": "http://testserver/tenant1"}):
        assert client.get("/tenant1" + URL).json()["issuer"] == "http://testserver/tenant1"
        assert client.get(URL).status_code == 404
        assert client.get("/tenant2" + URL).status_code == 404


def test_the_document_is_public_and_cacheable(client):
    response = client.get(URL)
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert client.post(URL).status_code == 405


def test_with_the_implicit_flow_the_fragment_response_mode_is_listed(client, settings):
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "IMPLICIT_GRANT_ENABLED": True}):
        assert client.get(URL).json()["response_modes_supported"] == ["query", "fragment"]
