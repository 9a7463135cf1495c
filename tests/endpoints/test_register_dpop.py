"""RFC 9449 §5.2: the dpop_bound_access_tokens client metadata in registration (RFC 7591) and management (RFC 7592)."""

import pytest

from oauth_provider.models import Application
from tests.endpoints.test_register import WEB_CLIENT, manage, register, registered

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_registration(settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "REGISTRATION_MODE": "open"}


def test_a_client_can_register_as_dpop_bound(client, open_registration):
    info = registered(client, {**WEB_CLIENT, "dpop_bound_access_tokens": True})
    assert info["dpop_bound_access_tokens"] is True
    assert Application.objects.get(client_id=info["client_id"]).dpop_bound_access_tokens is True


def test_dpop_binding_is_off_by_default_and_not_echoed(client, open_registration):
    info = registered(client)
    assert "dpop_bound_access_tokens" not in info
    assert Application.objects.get(client_id=info["client_id"]).dpop_bound_access_tokens is False


@pytest.mark.parametrize("value", ["true", 1, None, [True]])
def test_dpop_bound_access_tokens_must_be_a_boolean(client, open_registration, value):
    body = {**WEB_CLIENT, "dpop_bound_access_tokens": value}
    response = register(client, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


def test_an_update_can_turn_the_binding_on_and_off(client, open_registration):
    info = registered(client)
    body = {name: value for name, value in info.items() if name in WEB_CLIENT}
    body["client_id"] = info["client_id"]
    response = manage(client, "put", info, body={**body, "dpop_bound_access_tokens": True})
    assert response.status_code == 200, response.content
    assert Application.objects.get(client_id=info["client_id"]).dpop_bound_access_tokens is True
    assert response.json()["dpop_bound_access_tokens"] is True
    info = {**info, **response.json()}
    response = manage(client, "put", info, body=body)
    assert response.status_code == 200
    assert Application.objects.get(client_id=info["client_id"]).dpop_bound_access_tokens is False
