"""OpenID Connect Dynamic Registration 1.0 §2 and RP-Initiated Logout §3.1 metadata at RFC 7591 registration."""

import json

import pytest
from django.test import override_settings

from oauth_provider.models import Application
from tests.helpers.sector import sector_server

pytestmark = pytest.mark.django_db
REGISTER = "/oauth/register/"
WEB_CLIENT = {
    "client_name": "Photo printer",
    "redirect_uris": ["https://printer.example.test/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": "openid",
}


def register(client, metadata):
    return client.post(REGISTER, data=json.dumps(metadata), content_type="application/json")


@pytest.fixture(autouse=True)
def open_registration(settings):
    settings.OAUTH_PROVIDER = {
        **settings.OAUTH_PROVIDER,
        "REGISTRATION_MODE": "open",
        "REGISTRATION_SCOPES": ["openid", "profile", "email", "read"],
    }


def test_openid_members_are_stored_and_returned(client):
    metadata = {
        **WEB_CLIENT,
        "scope": "openid email",
        "id_token_signed_response_alg": "ES256",
        "subject_type": "pairwise",
        "post_logout_redirect_uris": ["https://printer.example.test/bye"],
        "require_auth_time": True,
        "default_max_age": 3600,
    }
    response = register(client, metadata)
    assert response.status_code == 201, response.content
    body = response.json()
    for name in (
        "id_token_signed_response_alg",
        "subject_type",
        "post_logout_redirect_uris",
        "require_auth_time",
        "default_max_age",
    ):
        assert body[name] == metadata[name], name
    app = Application.objects.get(client_id=body["client_id"])
    assert (app.id_token_signed_response_alg, app.subject_type, app.require_auth_time, app.default_max_age) == (
        "ES256",
        "pairwise",
        True,
        3600,
    )
    assert app.post_logout_redirect_uri_list == ["https://printer.example.test/bye"]
    assert app.sector_identifier == "printer.example.test"


def test_defaults_are_those_of_the_specification(client):
    body = register(client, WEB_CLIENT).json()
    assert body["id_token_signed_response_alg"] == "RS256"
    assert body["subject_type"] == "public"
    assert body["require_auth_time"] is False
    assert "default_max_age" not in body


@pytest.mark.parametrize(
    "members, message",
    [
        ({"id_token_signed_response_alg": "none"}, "id_token_signed_response_alg"),
        ({"id_token_signed_response_alg": "HS256"}, "id_token_signed_response_alg"),
        ({"subject_type": "secret"}, "subject_type"),
        ({"require_auth_time": "yes"}, "require_auth_time"),
        ({"default_max_age": -1}, "default_max_age"),
        ({"default_max_age": True}, "default_max_age"),
        ({"post_logout_redirect_uris": ["http://printer.example.test/bye"]}, "post_logout_redirect_uris"),
        ({"post_logout_redirect_uris": "https://printer.example.test/bye"}, "post_logout_redirect_uris"),
        ({"sector_identifier_uri": "http://sector.example.test/s.json"}, "https"),
        (
            {"subject_type": "pairwise", "redirect_uris": ["https://a.example.test/cb", "https://b.example.test/cb"]},
            "sector_identifier_uri",
        ),
    ],
)
def test_invalid_openid_metadata_is_refused(client, members, message):
    response = register(client, {**WEB_CLIENT, **members})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert message in response.json()["error_description"]
    assert not Application.objects.exists()


def test_a_sector_identifier_uri_must_list_every_redirect_uri(client, settings):
    redirect_uris = ["https://a.example.test/cb", "https://b.example.test/cb"]
    with (
        override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "SECTOR_IDENTIFIER_ALLOW_LOOPBACK": True}),
        sector_server(
            {
                "/ok.json": (200, {}, json.dumps(redirect_uris).encode(), 0),
                "/short.json": (200, {}, json.dumps(redirect_uris[:1]).encode(), 0),
            }
        ) as base,
    ):
        metadata = {**WEB_CLIENT, "subject_type": "pairwise", "redirect_uris": redirect_uris}
        refused = register(client, {**metadata, "sector_identifier_uri": base + "/short.json"})
        assert refused.status_code == 400
        assert "does not list every redirect URI" in refused.json()["error_description"]
        accepted = register(client, {**metadata, "sector_identifier_uri": base + "/ok.json"})
        assert accepted.status_code == 201, accepted.content
        assert accepted.json()["sector_identifier_uri"] == base + "/ok.json"
        assert Application.objects.get().sector_identifier == "127.0.0.1"
