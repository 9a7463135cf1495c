"""The device authorization endpoint (RFC 8628 §3.1, §3.2) and its metadata (§4)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from oauth_provider import audit, crypto
from oauth_provider.conf import DEFAULTS
from oauth_provider.endpoints.metadata import server_metadata
from oauth_provider.models import AuditEvent, ClientType, DeviceCode, DeviceCodeStatus, GrantType
from tests.factories import ApplicationFactory, DeviceApplicationFactory
from tests.helpers.device import DEVICE_GRANT, device_authorization, row, start
from tests.helpers.flows import FORM, basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def confidential_device_app():
    return ApplicationFactory(grant_types=[GrantType.DEVICE_CODE])


def test_public_client_gets_every_member_of_the_response(client, device_app):
    response = device_authorization(client, device_app)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"device_code", "user_code", "verification_uri", "verification_uri_complete",
                         "expires_in", "interval"}
    assert body["verification_uri"] == "http://testserver/oauth/device/verify/"
    assert body["expires_in"] == 600
    assert body["interval"] == 5


def test_response_is_json_that_no_cache_keeps(client, device_app):
    response = device_authorization(client, device_app)
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"


def test_user_code_is_shown_with_a_dash(client, device_app):
    user_code = start(client, device_app)["user_code"]
    assert len(user_code) == 9 and user_code[4] == "-"


def test_verification_uri_complete_carries_the_user_code(client, device_app):
    body = start(client, device_app)
    parts = urlsplit(body["verification_uri_complete"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == body["verification_uri"]
    assert parse_qs(parts.query) == {"user_code": [body["user_code"]]}


def test_device_code_is_stored_only_as_its_digest(client, device_app):
    body = start(client, device_app)
    code = row(body)
    assert code.device_code_digest == crypto.digest(body["device_code"])
    assert body["device_code"] not in str(DeviceCode.objects.values().get())


def test_device_code_carries_256_bits(client, device_app):
    assert len(start(client, device_app)["device_code"]) >= 43


def test_new_code_is_pending_with_the_configured_interval_and_expiry(client, device_app):
    code = row(start(client, device_app))
    assert code.status == DeviceCodeStatus.PENDING
    assert code.interval == 5
    assert code.user is None
    assert 595 <= (code.expires_at - code.created_at).total_seconds() <= 600


def test_lifetime_and_interval_are_configurable(client, device_app, settings):
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "DEVICE_CODE_LIFETIME": 120,
                                           "DEVICE_CODE_INTERVAL": 7}):
        body = start(client, device_app)
    assert (body["expires_in"], body["interval"]) == (120, 7)
    assert row(body).interval == 7


def test_no_scope_gets_the_clients_default(client, device_app):
    assert row(start(client, device_app)).scope == "read"


def test_requested_scope_is_stored(client, device_app):
    assert row(start(client, device_app, scope="read write")).scope == "read write"


def test_scope_outside_the_clients_is_invalid_scope(client, device_app):
    response = device_authorization(client, device_app, scope="read admin")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not DeviceCode.objects.exists()


def test_malformed_scope_is_invalid_scope(client, device_app):
    response = device_authorization(client, device_app, scope='read "x"')
    assert response.json()["error"] == "invalid_scope"


def test_confidential_client_authenticates_with_its_secret(client, confidential_device_app):
    response = device_authorization(client, confidential_device_app)
    assert response.status_code == 200, response.content


def test_confidential_client_may_use_client_secret_post(client, confidential_device_app):
    app = confidential_device_app
    data = f"client_id={app.client_id}&client_secret={app.secret}"
    assert client.post("/oauth/device/", data=data, content_type=FORM).status_code == 200


def test_confidential_client_without_its_secret_is_invalid_client(client, confidential_device_app):
    response = client.post("/oauth/device/", data=f"client_id={confidential_device_app.client_id}",
                           content_type=FORM)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not DeviceCode.objects.exists()


def test_wrong_secret_is_invalid_client_with_a_basic_challenge(client, confidential_device_app):
    response = client.post("/oauth/device/", data="", content_type=FORM,
                           HTTP_AUTHORIZATION=basic_auth(confidential_device_app.client_id, "x" * 43))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


def test_public_client_sending_a_secret_is_invalid_client(client, device_app):
    data = f"client_id={device_app.client_id}&client_secret={'s' * 43}"
    assert client.post("/oauth/device/", data=data, content_type=FORM).status_code == 401


def test_unknown_client_is_invalid_client(client, db):
    response = client.post("/oauth/device/", data="client_id=nobody", content_type=FORM)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_missing_client_is_invalid_client(client, db):
    assert client.post("/oauth/device/", data="scope=read", content_type=FORM).status_code == 401


def test_inactive_client_is_invalid_client(client):
    app = DeviceApplicationFactory(is_active=False)
    assert device_authorization(client, app).status_code == 401


def test_client_not_allowed_the_device_grant_is_unauthorized_client(client, public_app):
    response = device_authorization(client, public_app)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert not DeviceCode.objects.exists()


def test_server_without_the_device_grant_refuses(client, device_app, settings):
    grants = {k: v for k, v in DEFAULTS["GRANT_TYPES"].items() if k != DEVICE_GRANT}
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "GRANT_TYPES": grants}):
        response = device_authorization(client, device_app)
    assert response.json()["error"] == "unauthorized_client"


def test_client_secret_in_the_query_string_is_refused(client, confidential_device_app):
    app = confidential_device_app
    response = client.post(f"/oauth/device/?client_secret={app.secret}", data=f"client_id={app.client_id}",
                           content_type=FORM)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_json_body_is_invalid_request(client, device_app):
    response = client.post("/oauth/device/", data={"client_id": device_app.client_id},
                           content_type="application/json")
    assert response.json()["error"] == "invalid_request"


def test_repeated_parameter_is_invalid_request(client, device_app):
    data = f"client_id={device_app.client_id}&scope=read&scope=write"
    assert client.post("/oauth/device/", data=data, content_type=FORM).json()["error"] == "invalid_request"


def test_get_is_method_not_allowed(client, db):
    response = client.get("/oauth/device/")
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"


def test_issuing_is_audited_without_the_codes(client, device_app):
    body = start(client, device_app)
    event = AuditEvent.objects.get(event=audit.DEVICE_CODE_ISSUED)
    assert event.client_id == device_app.client_id
    assert event.details == {"device_code_id": row(body).pk, "scope": "read"}
    assert body["device_code"] not in str(event.details)


def test_metadata_advertises_the_endpoint_and_the_grant():
    document = server_metadata()
    assert document["device_authorization_endpoint"] == "http://testserver/oauth/device/"
    assert DEVICE_GRANT in document["grant_types_supported"]
    assert "none" in document["token_endpoint_auth_methods_supported"]


def test_metadata_omits_the_endpoint_when_the_grant_is_disabled(settings):
    grants = {k: v for k, v in DEFAULTS["GRANT_TYPES"].items() if k != DEVICE_GRANT}
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "GRANT_TYPES": grants}):
        document = server_metadata()
    assert "device_authorization_endpoint" not in document
    assert DEVICE_GRANT not in document["grant_types_supported"]


def test_device_client_factory_is_public():
    assert DeviceApplicationFactory().client_type == ClientType.PUBLIC


def test_confidential_client_may_send_an_empty_body(client, confidential_device_app):
    app = confidential_device_app
    response = client.post("/oauth/device/", data="", content_type=FORM,
                           HTTP_AUTHORIZATION=basic_auth(app.client_id, app.secret))
    assert response.status_code == 200, response.content
