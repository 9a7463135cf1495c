"""The admin edits the OpenID Connect metadata of a client; a sector_identifier_uri is verified."""

import json

import pytest
from django.test import override_settings

from oauth_provider.models import Application
from tests.helpers.admin import add_form
from tests.helpers.sector import sector_server

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/oauth_provider/application/add/"
WEB = {"grant_types": ["authorization_code"], "redirect_uris": "https://a.example.test/cb",
       "allowed_scopes": "openid read", "default_scopes": "openid"}


def test_the_add_form_offers_the_openid_connect_fields(staff_client):
    page = staff_client.get(ADD_URL).content.decode()
    for name in ("id_token_signed_response_alg", "subject_type", "sector_identifier_uri",
                 "post_logout_redirect_uris", "require_auth_time", "default_max_age"):
        assert f'name="{name}"' in page, name
    assert "OpenID Connect scopes: openid, profile, email, address, phone." in page


def test_the_admin_saves_the_openid_connect_fields(staff_client):
    response = staff_client.post(ADD_URL, add_form(
        **WEB, id_token_signed_response_alg="EdDSA", subject_type="pairwise", require_auth_time="on",
        default_max_age="600", post_logout_redirect_uris="https://a.example.test/bye"), follow=True)
    assert response.status_code == 200
    app = Application.objects.get()
    assert (app.id_token_signed_response_alg, app.subject_type, app.require_auth_time, app.default_max_age) == (
        "EdDSA", "pairwise", True, 600)
    assert app.post_logout_redirect_uri_list == ["https://a.example.test/bye"]
    assert app.sector_identifier == "a.example.test"


def test_an_invalid_post_logout_redirect_uri_is_refused(staff_client):
    response = staff_client.post(ADD_URL, add_form(**WEB, post_logout_redirect_uris="http://a.example.test/bye"))
    assert response.status_code == 200
    assert not Application.objects.exists()


def test_a_pairwise_client_with_several_hosts_needs_a_sector_identifier_uri(staff_client):
    data = add_form(**{**WEB, "redirect_uris": "https://a.example.test/cb\nhttps://b.example.test/cb"},
                    subject_type="pairwise")
    assert b"sector_identifier_uri" in staff_client.post(ADD_URL, data).content
    assert not Application.objects.exists()


def test_the_sector_identifier_uri_is_fetched_and_must_list_the_redirect_uris(staff_client, settings):
    uris = ["https://a.example.test/cb", "https://b.example.test/cb"]
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "SECTOR_IDENTIFIER_ALLOW_LOOPBACK": True}), \
            sector_server({"/short.json": (200, {}, json.dumps(uris[:1]).encode(), 0),
                           "/ok.json": (200, {}, json.dumps(uris).encode(), 0)}) as base:
        data = add_form(**{**WEB, "redirect_uris": "\n".join(uris)}, subject_type="pairwise")
        refused = staff_client.post(ADD_URL, {**data, "sector_identifier_uri": base + "/short.json"})
        assert b"does not list every redirect URI" in refused.content
        assert not Application.objects.exists()
        staff_client.post(ADD_URL, {**data, "sector_identifier_uri": base + "/ok.json"}, follow=True)
        assert Application.objects.get().sector_identifier == "127.0.0.1"


def test_an_http_sector_identifier_uri_is_refused_in_production(staff_client):
    data = add_form(**WEB, subject_type="pairwise", sector_identifier_uri="http://sector.example.test/s.json")
    assert b"must use https" in staff_client.post(ADD_URL, data).content
    assert not Application.objects.exists()
