"""Request-rate limits are DRF's own throttles on our views (docs/SECURITY.md S27): off by default,
honouring REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES or OAUTH_PROVIDER['THROTTLE_CLASSES']."""

from urllib.parse import urlencode

import pytest
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle

from tests.factories import ApplicationFactory
from tests.helpers.flows import FORM, basic_auth

pytestmark = pytest.mark.django_db


class TwoPerMinute(AnonRateThrottle):
    rate = "2/min"


def token_request(client, app, address="10.0.0.1"):
    return client.post("/oauth/token/", data="grant_type=client_credentials", content_type=FORM,
                       HTTP_AUTHORIZATION=basic_auth(app.client_id, app.secret), REMOTE_ADDR=address)


def test_no_request_rate_limit_by_default(client, application):
    assert {token_request(client, application).status_code for _ in range(30)} == {200}


@pytest.mark.security("S27")
def test_drf_default_throttle_classes_apply_to_our_views_with_an_rfc6749_429(client, application, settings):
    settings.REST_FRAMEWORK = {"DEFAULT_THROTTLE_CLASSES": [f"{__name__}.TwoPerMinute"]}
    statuses = [token_request(client, application).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = token_request(client, application)
    assert response.json() == {"error": "invalid_request", "error_description": "Too many requests; try again later."}
    assert 0 < int(response["Retry-After"]) <= 60
    assert response["Cache-Control"] == "no-store"
    # Another address has its own budget (DRF's get_ident).
    assert token_request(client, application, address="10.0.0.2").status_code == 200


def test_our_setting_names_the_throttles_of_the_oauth_endpoints_only(client, application, settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "THROTTLE_CLASSES": [f"{__name__}.TwoPerMinute"]}
    assert [token_request(client, application).status_code for _ in range(3)] == [200, 200, 429]
    settings.REST_FRAMEWORK = {"DEFAULT_THROTTLE_CLASSES": [f"{__name__}.TwoPerMinute"]}
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "THROTTLE_CLASSES": []}
    assert {token_request(client, application, address="10.0.0.3").status_code for _ in range(5)} == {200}


def test_scoped_rates_per_endpoint_and_a_scope_without_a_rate_is_not_throttled(client, application, settings,
                                                                                monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"oauth_introspection": "1/min"})
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER,
                               "THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"]}
    auth = {"HTTP_AUTHORIZATION": basic_auth(application.client_id, application.secret)}
    statuses = [client.post("/oauth/introspect/", data=urlencode({"token": "x"}), content_type=FORM,
                            **auth).status_code for _ in range(2)]
    assert statuses == [200, 429]
    assert {token_request(client, application).status_code for _ in range(5)} == {200}


def test_the_throttle_sees_the_other_clients_of_a_shared_budget(client, settings):
    settings.REST_FRAMEWORK = {"DEFAULT_THROTTLE_CLASSES": [f"{__name__}.TwoPerMinute"]}
    apps = ApplicationFactory.create_batch(3)
    assert [token_request(client, app).status_code for app in apps] == [200, 200, 429]
