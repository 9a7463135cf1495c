"""Pushed authorization requests (RFC 9126): the push, and the rules of a request_uri's one use."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import override_settings
from django.utils import timezone

from oauth_provider import crypto
from oauth_provider.clients.pushed_requests import REQUEST_URI_PREFIX, claim_pushed_request, spend_pushed_request
from oauth_provider.errors import InvalidRequestUri
from oauth_provider.models import AuditEvent, PushedAuthorizationRequest
from tests.factories import ApplicationFactory, PublicApplicationFactory, WebApplicationFactory
from tests.helpers.flows import FORM, authorize_params, post_as
from tests.helpers.jwt import oauth_settings_with

pytestmark = pytest.mark.django_db
PAR = "/oauth/par/"


def push(client, app, **overrides):
    params = authorize_params(app, **overrides)
    params.pop("client_id")
    return post_as(client, PAR, app, params)


def test_a_push_answers_201_with_a_request_uri_and_expires_in(client, web_app):
    response = push(client, web_app)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"request_uri", "expires_in"} and body["expires_in"] == 60
    assert body["request_uri"].startswith(REQUEST_URI_PREFIX)
    assert response["Cache-Control"] == "no-store"


def test_the_request_uri_has_256_random_bits_and_is_stored_as_a_digest(client, web_app):
    first = push(client, web_app).json()["request_uri"]
    second = push(client, web_app).json()["request_uri"]
    assert first != second
    assert len(first.removeprefix(REQUEST_URI_PREFIX)) >= 43  # 32 bytes, base64url
    row = PushedAuthorizationRequest.objects.get(request_uri_digest=crypto.digest(first))
    assert first not in str(row.parameters) and row.application == web_app
    assert "client_secret" not in row.parameters and row.parameters["client_id"] == web_app.client_id


@override_settings(OAUTH_PROVIDER=oauth_settings_with(PUSHED_AUTHORIZATION_REQUEST_LIFETIME=30))
def test_expires_in_is_a_setting(client, web_app):
    response = push(client, web_app)
    assert response.json()["expires_in"] == 30
    row = PushedAuthorizationRequest.objects.get()
    assert timedelta(seconds=28) < row.expires_at - timezone.now() <= timedelta(seconds=30)


def test_a_public_client_pushes_with_its_client_id_and_pkce(client):
    app = PublicApplicationFactory()
    assert push(client, app).status_code == 201


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ({"scope": "admin"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"request_uri": REQUEST_URI_PREFIX + "x"}, "invalid_request"),
        ({"request": "eyJ.e30."}, "invalid_request"),
    ],
)
def test_a_bad_request_is_refused_at_push_time_as_json(client, web_app, overrides, error):
    response = push(client, web_app, **overrides)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert PushedAuthorizationRequest.objects.count() == 0


def test_client_authentication_is_required(client, web_app):
    params = authorize_params(web_app)
    response = client.post(PAR, data=urlencode(params), content_type=FORM)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    wrong = post_as(client, PAR, web_app, authorize_params(web_app), secret="x" * 40)
    assert wrong.status_code == 401 and response.json()["error"] == "invalid_client"
    assert AuditEvent.objects.filter(event="client_auth_failed").count() == 2


def test_the_body_client_id_must_be_the_authenticated_client(client, web_app):
    other = WebApplicationFactory()
    response = post_as(client, PAR, web_app, authorize_params(other))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_the_client_secret_in_the_url_is_refused(client, web_app):
    response = client.post(f"{PAR}?client_secret=x", data=urlencode(authorize_params(web_app)), content_type=FORM)
    assert response.status_code == 400


@override_settings(OAUTH_PROVIDER=oauth_settings_with(CLIENT_AUTH_MAX_FAILURES=3))
def test_failed_authentication_is_rate_limited_as_at_the_token_endpoint(client, web_app):
    statuses = [post_as(client, PAR, web_app, authorize_params(web_app), secret="y" * 40).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_only_post(client):
    assert client.get(PAR).status_code == 405


# --- using a request_uri -------------------------------------------------------------------------


def pushed(client, app, **overrides) -> str:
    response = push(client, app, **overrides)
    assert response.status_code == 201, response.content
    return response.json()["request_uri"]


def refused(app, request_uri, claim=None):
    with pytest.raises(InvalidRequestUri) as caught:
        claim_pushed_request(app, request_uri, claim)
    assert caught.value.error == "invalid_request_uri"


def test_the_first_arrival_claims_and_may_come_back_with_its_claim(client, web_app):
    request_uri = pushed(client, web_app)
    row, claim = claim_pushed_request(web_app, request_uri, None)
    assert row.parameters["redirect_uri"] == web_app.redirect_uri_list[0]
    assert claim_pushed_request(web_app, request_uri, claim)[1] == claim  # reload, login
    refused(web_app, request_uri, None)  # another browser
    refused(web_app, request_uri, "forged-claim")


def test_an_unknown_request_uri_is_refused(web_app):
    refused(web_app, REQUEST_URI_PREFIX + "unknown")


def test_another_clients_request_uri_is_refused(client, web_app):
    request_uri = pushed(client, web_app)
    refused(WebApplicationFactory(), request_uri)
    claim_pushed_request(web_app, request_uri, None)  # still usable by its own client


def test_an_expired_request_uri_is_refused(client, web_app):
    request_uri = pushed(client, web_app)
    PushedAuthorizationRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    refused(web_app, request_uri)


def test_a_used_request_uri_is_refused_even_to_its_browser(client, web_app):
    request_uri = pushed(client, web_app)
    row, claim = claim_pushed_request(web_app, request_uri, None)
    spend_pushed_request(row, claim)
    refused(web_app, request_uri, claim)
    with pytest.raises(InvalidRequestUri):
        spend_pushed_request(row, claim)


def test_the_interaction_window_ends(client, web_app):
    request_uri = pushed(client, web_app)
    _, claim = claim_pushed_request(web_app, request_uri, None)
    PushedAuthorizationRequest.objects.update(claimed_at=timezone.now() - timedelta(seconds=601))
    refused(web_app, request_uri, claim)


def test_spending_needs_the_claim(client, web_app):
    request_uri = pushed(client, web_app)
    row, _ = claim_pushed_request(web_app, request_uri, None)
    with pytest.raises(InvalidRequestUri):
        spend_pushed_request(row, "not-the-claim")


def test_the_rate_limit_counts_par_and_token_requests_of_a_client_together(client):
    """One budget for guessing one client's secret, wherever it is tried."""
    app = ApplicationFactory()
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(CLIENT_AUTH_MAX_FAILURES=2)):
        post_as(client, "/oauth/token/", app, {"grant_type": "client_credentials"}, secret="z" * 40)
        post_as(client, PAR, app, {"response_type": "code"}, secret="z" * 40)
        response = post_as(client, PAR, app, {"response_type": "code"}, secret="z" * 40)
    assert response.status_code == 429
