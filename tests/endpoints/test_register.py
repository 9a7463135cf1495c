"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592)."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from oauth_provider import audit, crypto
from oauth_provider.models import AccessToken, Application, AuditEvent, Consent, InitialAccessToken, RefreshToken
from tests.factories import UserFactory
from tests.helpers.flows import basic_auth, client_credentials_token

pytestmark = pytest.mark.django_db

REGISTER = "/oauth/register/"
WEB_CLIENT = {
    "client_name": "Photo printer",
    "redirect_uris": ["https://printer.example.test/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": "read",
    "client_uri": "https://printer.example.test/",
    "contacts": ["ops@printer.example.test"],
}
SERVICE_CLIENT = {"client_name": "Batch job", "grant_types": ["client_credentials"], "scope": "read write"}


@pytest.fixture
def open_registration(settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "REGISTRATION_MODE": "open"}


@pytest.fixture
def token_registration(settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "REGISTRATION_MODE": "initial_access_token"}


def initial_access_token(max_uses=1, expires_in=timedelta(days=1)) -> str:
    row = InitialAccessToken(expires_at=timezone.now() + expires_in, max_uses=max_uses)
    token = row.generate_token()
    row.save()
    return token


def register(client, metadata, token=None, **extra):
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(REGISTER, data=json.dumps(metadata), content_type="application/json", **extra)


def registered(client, metadata=WEB_CLIENT) -> dict:
    response = register(client, metadata)
    assert response.status_code == 201, response.content
    return response.json()


def configuration_path(info) -> str:
    return info["registration_client_uri"].removeprefix("http://testserver")


def manage(client, method, info, token=None, body=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token or info['registration_access_token']}"}
    if body is None:
        return getattr(client, method)(configuration_path(info), **headers)
    return getattr(client, method)(configuration_path(info), data=json.dumps(body), content_type="application/json",
                                   **headers)


# --- closed by default -------------------------------------------------------------------------


def test_registration_is_closed_by_default(client):
    response = register(client, WEB_CLIENT)
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"
    assert not Application.objects.exists()


def test_closed_registration_is_not_advertised(client):
    assert "registration_endpoint" not in client.get("/.well-known/oauth-authorization-server").json()


def test_closed_registration_refusal_is_audited(client):
    register(client, WEB_CLIENT)
    assert AuditEvent.objects.get(event=audit.REGISTRATION_REFUSED).details == {"reason": "closed"}


def test_open_registration_is_advertised(client, open_registration):
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["registration_endpoint"] == "http://testserver/oauth/register/"


# --- open registration ---------------------------------------------------------------------------


def test_confidential_client_gets_id_secret_and_registration_token(client, open_registration):
    info = registered(client)
    application = Application.objects.get(client_id=info["client_id"])
    assert application.check_secret(info["client_secret"])
    assert crypto.matches_digest(info["registration_access_token"], application.registration_access_token_digest)
    assert info["client_secret_expires_at"] == 0
    assert info["client_id_issued_at"] == int(application.created_at.timestamp())
    assert info["registration_client_uri"] == f"http://testserver/oauth/register/{info['client_id']}/"


def test_response_echoes_the_registered_metadata(client, open_registration):
    info = registered(client)
    for name, value in WEB_CLIENT.items():
        assert info[name] == value
    assert info["token_endpoint_auth_method"] == "client_secret_basic"


def test_response_is_201_json_no_store(client, open_registration):
    response = register(client, WEB_CLIENT)
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"


def test_registered_client_is_stored_as_an_application(client, open_registration):
    info = registered(client)
    application = Application.objects.get(client_id=info["client_id"])
    assert application.name == "Photo printer"
    assert application.redirect_uri_list == WEB_CLIENT["redirect_uris"]
    assert application.grant_types == WEB_CLIENT["grant_types"]
    assert application.allowed_scopes == "read"
    assert application.is_confidential


def test_public_client_gets_no_secret(client, open_registration):
    info = registered(client, {**WEB_CLIENT, "token_endpoint_auth_method": "none"})
    assert "client_secret" not in info and "client_secret_expires_at" not in info
    assert not Application.objects.get(client_id=info["client_id"]).is_confidential


def test_defaults_are_rfc7591s(client, open_registration):
    info = registered(client, {"redirect_uris": ["https://a.example.test/cb"]})
    assert info["grant_types"] == ["authorization_code"]
    assert info["response_types"] == ["code"]
    assert info["token_endpoint_auth_method"] == "client_secret_basic"
    assert info["scope"] == "read"


def test_registered_service_obtains_a_token(client, open_registration):
    info = registered(client, SERVICE_CLIENT)
    response = client.post("/oauth/token/", data=urlencode({"grant_type": "client_credentials"}),
                           content_type="application/x-www-form-urlencoded",
                           HTTP_AUTHORIZATION=basic_auth(info["client_id"], info["client_secret"]))
    assert response.status_code == 200, response.content


def test_registration_is_audited_without_secrets(client, open_registration):
    info = registered(client)
    event = AuditEvent.objects.get(event=audit.CLIENT_REGISTERED)
    assert event.client_id == info["client_id"]
    assert info["client_secret"] not in json.dumps(event.details)
    assert info["registration_access_token"] not in json.dumps(event.details)


def test_unknown_metadata_is_ignored(client, open_registration):
    info = registered(client, {**WEB_CLIENT, "frobnicate": True})
    assert "frobnicate" not in info


# --- bad metadata ------------------------------------------------------------------------------


@pytest.mark.parametrize("uris", [
    ["http://printer.example.test/callback"],
    ["https://printer.example.test/cb#fragment"],
    ["https://*.example.test/cb"],
    ["relative/path"],
    "https://not-a-list.example.test/",
    [42],
    [],
])
def test_bad_redirect_uris_are_invalid_redirect_uri(client, open_registration, uris):
    response = register(client, {**WEB_CLIENT, "redirect_uris": uris})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    assert not Application.objects.exists()


def test_loopback_redirect_uri_is_accepted(client, open_registration):
    registered(client, {**WEB_CLIENT, "redirect_uris": ["http://127.0.0.1/callback"]})


@pytest.mark.parametrize("change", [
    {"grant_types": ["password"]},
    {"grant_types": ["implicit"], "response_types": ["token"]},
    {"grant_types": ["authorization_code"], "response_types": []},
    {"grant_types": ["client_credentials"], "response_types": ["code"]},
    {"grant_types": ["refresh_token"], "response_types": []},
    {"grant_types": ["urn:example:unknown"]},
    {"grant_types": "authorization_code"},
    {"response_types": ["code", "id_token"]},
    {"token_endpoint_auth_method": "private_key_jwt"},
    {"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"], "response_types": []},
    {"scope": "read admin-unknown"},
    {"scope": "read \"quoted\""},
    {"scope": ["read"]},
    {"client_name": ""},
    {"client_name": "x" * 256},
    {"client_name": 7},
    {"client_uri": "http://printer.example.test/"},
    {"logo_uri": "not a uri"},
    {"tos_uri": "javascript:alert(1)"},
    {"contacts": ["not-an-email"]},
    {"contacts": "ops@printer.example.test"},
    {"software_id": {"nested": True}},
])
def test_bad_metadata_is_invalid_client_metadata(client, open_registration, change):
    response = register(client, {**WEB_CLIENT, **change})
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_client_metadata"
    assert not Application.objects.exists()


def test_scope_outside_registration_scopes_is_refused(client, settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "REGISTRATION_MODE": "open",
                               "REGISTRATION_SCOPES": ["read"]}
    response = register(client, {**WEB_CLIENT, "scope": "read admin"})
    assert response.json()["error"] == "invalid_client_metadata"


def test_json_array_body_is_invalid_client_metadata(client, open_registration):
    response = client.post(REGISTER, data="[]", content_type="application/json")
    assert response.json()["error"] == "invalid_client_metadata"


def test_malformed_json_is_invalid_request(client, open_registration):
    response = client.post(REGISTER, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_form_body_is_invalid_request(client, open_registration):
    response = client.post(REGISTER, data=urlencode({"client_name": "x"}),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# --- initial access tokens -----------------------------------------------------------------------


def test_initial_access_token_allows_registration(client, token_registration):
    response = register(client, WEB_CLIENT, token=initial_access_token())
    assert response.status_code == 201
    assert InitialAccessToken.objects.get().uses == 1


def test_registration_without_initial_access_token_is_401(client, token_registration):
    response = register(client, WEB_CLIENT)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Application.objects.exists()


def test_wrong_initial_access_token_is_invalid_token(client, token_registration):
    initial_access_token()
    response = register(client, WEB_CLIENT, token="guessed")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_expired_initial_access_token_is_refused(client, token_registration):
    token = initial_access_token(expires_in=timedelta(seconds=-1))
    assert register(client, WEB_CLIENT, token=token).status_code == 401


def test_used_up_initial_access_token_is_refused(client, token_registration):
    token = initial_access_token(max_uses=1)
    register(client, WEB_CLIENT, token=token)
    assert register(client, WEB_CLIENT, token=token).status_code == 401
    assert Application.objects.count() == 1


def test_bad_metadata_does_not_use_up_the_initial_access_token(client, token_registration):
    token = initial_access_token()
    register(client, {**WEB_CLIENT, "redirect_uris": ["http://evil.example/"]}, token=token)
    assert InitialAccessToken.objects.get().uses == 0


def test_initial_access_token_is_stored_as_a_digest(token_registration):
    token = initial_access_token()
    assert InitialAccessToken.objects.get().token_digest == crypto.digest(token)


def test_initial_access_token_requires_a_digest():
    with pytest.raises(ValueError):
        InitialAccessToken(token_digest="plaintext", expires_at=timezone.now()).save()


# --- RFC 7592: read ------------------------------------------------------------------------------


def test_read_returns_the_metadata_without_the_secret(client, open_registration):
    info = registered(client)
    response = manage(client, "get", info)
    assert response.status_code == 200
    body = response.json()
    assert body["client_id"] == info["client_id"]
    assert body["registration_access_token"] == info["registration_access_token"]
    assert body["redirect_uris"] == WEB_CLIENT["redirect_uris"]
    assert "client_secret" not in body
    assert response["Cache-Control"] == "no-store"


def test_read_is_audited(client, open_registration):
    manage(client, "get", registered(client))
    assert AuditEvent.objects.filter(event=audit.CLIENT_CONFIGURATION_READ).count() == 1


def test_read_with_a_wrong_token_is_401(client, open_registration):
    response = manage(client, "get", registered(client), token="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_read_without_a_token_is_401(client, open_registration):
    info = registered(client)
    response = client.get(configuration_path(info))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_another_clients_registration_token_is_401(client, open_registration):
    mine, other = registered(client), registered(client)
    response = manage(client, "get", mine, token=other["registration_access_token"])
    assert response.status_code == 401


def test_unknown_client_is_401_not_404(client, open_registration):
    info = registered(client)
    response = client.get("/oauth/register/no-such-client/",
                          HTTP_AUTHORIZATION=f"Bearer {info['registration_access_token']}")
    assert response.status_code == 401


def test_client_secret_is_not_a_registration_token(client, open_registration):
    info = registered(client)
    assert manage(client, "get", info, token=info["client_secret"]).status_code == 401


def test_deactivated_client_cannot_be_managed(client, open_registration):
    info = registered(client)
    Application.objects.update(is_active=False)
    assert manage(client, "get", info).status_code == 401


# --- RFC 7592: update ----------------------------------------------------------------------------


def update_body(info, **changes):
    return {**WEB_CLIENT, "client_id": info["client_id"], **changes}


def test_update_replaces_the_metadata(client, open_registration):
    info = registered(client)
    response = manage(client, "put", info, body=update_body(info, client_name="Photo printer 2",
                                                               redirect_uris=["https://new.example.test/cb"]))
    assert response.status_code == 200, response.content
    application = Application.objects.get()
    assert application.name == "Photo printer 2"
    assert application.redirect_uri_list == ["https://new.example.test/cb"]
    assert response.json()["redirect_uris"] == ["https://new.example.test/cb"]


def test_update_rotates_the_registration_token(client, open_registration):
    info = registered(client)
    new_token = manage(client, "put", info, body=update_body(info)).json()["registration_access_token"]
    assert new_token != info["registration_access_token"]
    assert manage(client, "get", info).status_code == 401  # the old token is dead
    assert manage(client, "get", info, token=new_token).status_code == 200


def test_update_keeps_the_client_secret(client, open_registration):
    info = registered(client)
    body = manage(client, "put", info, body=update_body(info)).json()
    assert "client_secret" not in body
    assert Application.objects.get().check_secret(info["client_secret"])


def test_update_with_the_matching_secret_is_accepted(client, open_registration):
    info = registered(client)
    response = manage(client, "put", info, body=update_body(info, client_secret=info["client_secret"]))
    assert response.status_code == 200


def test_update_with_a_wrong_secret_is_refused(client, open_registration):
    info = registered(client)
    response = manage(client, "put", info, body=update_body(info, client_secret="wrong"))
    assert response.json()["error"] == "invalid_client_metadata"


def test_update_without_client_id_is_refused(client, open_registration):
    info = registered(client)
    response = manage(client, "put", info, body=WEB_CLIENT)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


def test_update_with_another_client_id_is_refused(client, open_registration):
    info = registered(client)
    response = manage(client, "put", info, body=update_body(info, client_id="someone-else"))
    assert response.json()["error"] == "invalid_client_metadata"


def test_update_with_bad_metadata_changes_nothing(client, open_registration):
    info = registered(client)
    response = manage(client, "put", info, body=update_body(info, redirect_uris=["http://evil.example/"]))
    assert response.json()["error"] == "invalid_redirect_uri"
    assert Application.objects.get().redirect_uri_list == WEB_CLIENT["redirect_uris"]
    assert manage(client, "get", info).status_code == 200  # the token was not rotated


def test_update_ignores_server_members(client, open_registration):
    info = registered(client)
    response = manage(client, "put", info, body=update_body(info, client_id_issued_at=1, registration_client_uri="x"))
    assert response.status_code == 200
    assert response.json()["client_id_issued_at"] == info["client_id_issued_at"]


def test_update_to_public_drops_the_secret(client, open_registration):
    info = registered(client)
    manage(client, "put", info, body=update_body(info, token_endpoint_auth_method="none"))
    application = Application.objects.get()
    assert not application.is_confidential and not application.has_secret


def test_update_to_confidential_generates_a_secret(client, open_registration):
    info = registered(client, {**WEB_CLIENT, "token_endpoint_auth_method": "none"})
    body = manage(client, "put", info, body=update_body(info)).json()
    assert Application.objects.get().check_secret(body["client_secret"])


def test_update_is_audited(client, open_registration):
    info = registered(client)
    manage(client, "put", info, body=update_body(info))
    assert AuditEvent.objects.filter(event=audit.CLIENT_UPDATED).count() == 1


def test_update_with_a_wrong_token_is_401(client, open_registration):
    info = registered(client)
    assert manage(client, "put", info, token="wrong", body=update_body(info, client_name="Hijacked")).status_code == 401
    assert Application.objects.get().name == "Photo printer"


# --- RFC 7592: delete ----------------------------------------------------------------------------


def test_delete_removes_the_client(client, open_registration):
    info = registered(client)
    response = manage(client, "delete", info)
    assert response.status_code == 204
    assert not Application.objects.exists()


def test_deleted_client_cannot_obtain_tokens(client, open_registration):
    info = registered(client, SERVICE_CLIENT)
    manage(client, "delete", info)
    response = client.post("/oauth/token/", data=urlencode({"grant_type": "client_credentials"}),
                           content_type="application/x-www-form-urlencoded",
                           HTTP_AUTHORIZATION=basic_auth(info["client_id"], info["client_secret"]))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_delete_revokes_issued_tokens_for_resource_servers(client, open_registration,
                                                          django_capture_on_commit_callbacks):
    from oauth_provider.tokens.revocation import is_jti_revoked

    info = registered(client, SERVICE_CLIENT)
    application = Application.objects.get()
    application.secret = info["client_secret"]
    token = client_credentials_token(client, application)
    jti = AccessToken.objects.get().jti
    with django_capture_on_commit_callbacks(execute=True):
        manage(client, "delete", info)
    assert token
    assert is_jti_revoked(jti)
    assert not AccessToken.objects.exists() and not RefreshToken.objects.exists()


def test_delete_is_audited_with_the_client_id(client, open_registration):
    info = registered(client)
    manage(client, "delete", info)
    assert AuditEvent.objects.get(event=audit.CLIENT_DELETED).client_id == info["client_id"]


def test_delete_twice_is_401(client, open_registration):
    info = registered(client)
    manage(client, "delete", info)
    assert manage(client, "delete", info).status_code == 401


def test_delete_with_a_wrong_token_is_401_and_keeps_the_client(client, open_registration):
    info = registered(client)
    assert manage(client, "delete", info, token="wrong").status_code == 401
    assert Application.objects.exists()


def test_post_to_the_configuration_endpoint_is_405(client, open_registration):
    info = registered(client)
    assert client.post(configuration_path(info)).status_code == 405


def test_initial_access_token_registration_is_advertised(client, token_registration):
    assert "registration_endpoint" in client.get("/.well-known/oauth-authorization-server").json()


@pytest.mark.security("S28")
@pytest.mark.xfail(strict=True, reason="docs/SECURITY.md S28 is open: consents survive a change of redirect URIs")
def test_changing_the_redirect_uris_drops_the_consents_given_to_the_old_client(client, open_registration):
    info = registered(client)
    application = Application.objects.get(client_id=info["client_id"])
    Consent.objects.create(user=UserFactory(), application=application, scope="read")
    response = manage(client, "put", info, body=update_body(info, redirect_uris=["https://other.example.test/cb"]))
    assert response.status_code == 200, response.content
    assert not Consent.objects.filter(application=application).exists()
