"""SECURITY.md, "Clients and redirects" (items 1-4): one test per item, named after it."""

import hmac
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError

from oauth_provider import crypto
from oauth_provider.models import AccessToken, Application, RefreshToken
from oauth_provider.tokens.revocation import is_jti_revoked
from tests.factories import ApplicationFactory, PublicApplicationFactory, WebApplicationFactory
from tests.helpers.flows import authorize_url, obtain_code, query_of, redeem, token_request

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("variant", ["https://client.example.com/cb/", "https://CLIENT.example.com/cb",
                                     "https://client.example.com/cb?x=1", "https://client.example.com/cb#f",
                                     "https://client.example.com:443/cb", "https://client.example.com/c"])
def test_item_01_redirect_uris_compared_by_exact_match(user_client, variant):
    app = WebApplicationFactory(redirect_uris="https://client.example.com/cb")
    response = user_client.get(authorize_url(app, redirect_uri=variant))
    assert response.status_code == 400
    assert "Location" not in response


def test_item_01_loopback_redirect_uris_allow_any_port_explicitly(user_client):
    app = PublicApplicationFactory(redirect_uris="http://127.0.0.1/callback")
    code = obtain_code(user_client, app, redirect_uri="http://127.0.0.1:51234/callback")
    assert code
    assert user_client.get(authorize_url(app, redirect_uri="http://localhost:51234/callback")).status_code == 400


@pytest.mark.parametrize("uri", ["https://*.example.com/cb", "https://client.example.com/cb#fragment",
                                 "http://client.example.com/cb"])
def test_item_01_no_wildcards_no_fragments_and_http_only_for_loopback(uri):
    app = WebApplicationFactory.build(redirect_uris=uri)
    with pytest.raises(ValidationError):
        app.full_clean()


def test_item_02_unknown_client_shows_an_error_page_and_never_redirects(user_client):
    response = user_client.get("/oauth/authorize/?response_type=code&client_id=nope&redirect_uri=https://evil.example/")
    assert response.status_code == 400
    assert "Location" not in response
    assert b"evil.example" not in response.content


def test_item_02_unregistered_redirect_uri_shows_an_error_page_and_never_redirects(user_client, web_app):
    response = user_client.get(authorize_url(web_app, redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400
    assert "Location" not in response


def test_item_03_confidential_clients_must_authenticate_at_the_token_endpoint(client, user_client, web_app):
    code = obtain_code(user_client, web_app)
    body = urlencode({"grant_type": "authorization_code", "code": code, "client_id": web_app.client_id})
    response = client.post("/oauth/token/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_item_03_a_public_client_can_never_use_client_credentials(client, public_app):
    with pytest.raises(ValidationError):
        Application(name="p", client_type="public", grant_types=["client_credentials"]).full_clean()
    public_app.grant_types = [*public_app.grant_types, "client_credentials"]
    Application.objects.filter(pk=public_app.pk).update(grant_types=public_app.grant_types)
    response = token_request(client, public_app, {"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_item_04_client_secrets_are_server_generated_and_stored_as_digests(application):
    stored = Application.objects.get(pk=application.pk)
    assert stored.client_secret_digest == crypto.digest(application.secret)
    assert application.secret not in str(Application.objects.filter(pk=application.pk).values().get())
    assert len(stored.generate_secret()) >= 32
    with pytest.raises(ValueError):
        Application.objects.filter(pk=application.pk).get().set_secret("short")


def test_item_04_secrets_are_compared_in_constant_time(application, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert application.check_secret(application.secret)
    assert not application.check_secret("wrong")
    assert len(calls) == 2


def test_item_04_rotating_a_secret_takes_effect_at_once(client, application):
    old = application.secret
    application.generate_secret()
    application.save()
    application.secret = old
    assert token_request(client, application, {"grant_type": "client_credentials"}).status_code == 401


def test_item_04_deactivating_a_client_revokes_its_tokens_at_once(
    client, user_client, web_app, django_capture_on_commit_callbacks
):
    body = redeem(client, web_app, obtain_code(user_client, web_app)).json()
    jti = AccessToken.objects.get().jti
    web_app.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        web_app.save()
    assert AccessToken.objects.get().revoked_at is not None
    assert RefreshToken.objects.get().revoked_at is not None
    assert is_jti_revoked(jti)
    refresh = token_request(client, web_app, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refresh.status_code == 401


def test_item_04_deleting_a_client_publishes_its_tokens_as_revoked(
    client, application, django_capture_on_commit_callbacks
):
    token_request(client, application, {"grant_type": "client_credentials"})
    jti = AccessToken.objects.get().jti
    with django_capture_on_commit_callbacks(execute=True):
        application.delete()
    assert is_jti_revoked(jti)


def test_item_04_an_inactive_client_cannot_authenticate(client):
    app = ApplicationFactory(is_active=False)
    assert token_request(client, app, {"grant_type": "client_credentials"}).status_code == 401


def test_item_02_errors_after_the_redirect_uri_is_verified_go_back_with_state(user_client, web_app):
    response = user_client.get(authorize_url(web_app, response_type="bogus"))
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "unsupported_response_type"
