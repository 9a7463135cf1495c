"""Rules that used to live in two or three places now have one home; every former call site shares it."""

from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.http import QueryDict
from django.test import override_settings

from oauth_provider import audit, http
from oauth_provider.clients import authentication
from oauth_provider.models import AuditEvent
from oauth_provider.redirect_uris import is_loopback_host, redirect_uri_matches, validate_redirect_uri
from oauth_provider.scopes import requested_scope
from tests.factories import ApplicationFactory, DeviceApplicationFactory, WebApplicationFactory
from tests.helpers.device import device_authorization
from tests.helpers.flows import FORM, authorize_url, basic_auth, post_as, query_of, token_request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_rate_limit_cache():
    cache.clear()
    yield
    cache.clear()


# --- scope defaults: scopes.requested_scope -------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "description"),
    [
        ("admin", "Scope not allowed for this client: admin."),
        ("read\x7f", "Malformed scope: invalid scope token 'read\\x7f'."),
    ],
)
def test_the_same_bad_scope_gets_the_same_error_at_authorize_token_and_device(client, user_client, scope, description):
    web = WebApplicationFactory(allowed_scopes="read write")
    at_authorize = query_of(user_client.get(authorize_url(web, scope=scope))["Location"])
    machine = ApplicationFactory(allowed_scopes="read write")
    at_token = token_request(client, machine, {"grant_type": "client_credentials", "scope": scope}).json()
    device = DeviceApplicationFactory(allowed_scopes="read write")
    at_device = device_authorization(client, device, scope=scope).json()
    assert at_authorize["error"] == at_token["error"] == at_device["error"] == "invalid_scope"
    assert at_authorize["error_description"] == at_token["error_description"] == at_device["error_description"]
    assert at_token["error_description"] == description


def test_the_same_missing_default_scope_gets_the_same_error_everywhere(client, user_client):
    no_default = {"allowed_scopes": "write", "default_scopes": ""}
    with override_settings(OAUTH_PROVIDER={**_settings(), "DEFAULT_SCOPES": ["read"]}):
        web = WebApplicationFactory(**no_default)
        at_authorize = query_of(user_client.get(authorize_url(web, scope=None))["Location"])
        at_token = token_request(client, ApplicationFactory(**no_default), {"grant_type": "client_credentials"}).json()
        at_device = device_authorization(client, DeviceApplicationFactory(**no_default)).json()
    expected = "No scope was requested and the client has no default scope."
    assert at_authorize["error_description"] == at_token["error_description"] == at_device["error_description"]
    assert at_device == {"error": "invalid_scope", "error_description": expected}


def test_requested_scope_defaults_and_refusals():
    client = ApplicationFactory(allowed_scopes="read write", default_scopes="read")
    assert requested_scope(client, "") == ["read"]
    assert requested_scope(client, "write read write") == ["write", "read"]


def test_a_scope_token_with_a_final_newline_is_malformed_not_merely_unknown(client):
    # The scope-token pattern is a full match ("$" would let "read\n" through as a token).
    response = token_request(client, ApplicationFactory(), {"grant_type": "client_credentials", "scope": "read\n"})
    assert response.json()["error_description"].startswith("Malformed scope")


# --- single-valued parameters: http.read_parameters -----------------------------------------------


def test_read_parameters_reports_every_bad_name_in_order_and_keeps_the_good_ones():
    data = QueryDict(mutable=True)
    data.setlist("a", ["1", "2"])
    data["b"] = "x" * 5000
    data["c"] = "nul\x00"
    data["d"] = "fine"
    data["e"] = ""
    params, problems = http.read_parameters(data)
    assert params == {"d": "fine"}
    assert problems == [("a", http.REPEATED), ("b", http.TOO_LONG), ("c", http.HAS_NUL)]


@pytest.mark.parametrize("value", ["x" * 5000, "a\x00b"])
def test_the_token_and_authorize_endpoints_refuse_the_same_parameters(client, user_client, value):
    at_token = token_request(client, ApplicationFactory(), {"grant_type": "client_credentials", "scope": value})
    assert at_token.status_code == 400 and at_token.json()["error"] == "invalid_request"
    assert "The scope parameter" in at_token.json()["error_description"]
    web = WebApplicationFactory()
    at_authorize = query_of(user_client.get(authorize_url(web, scope=value))["Location"])
    assert at_authorize["error"] == "invalid_request"
    assert at_authorize["error_description"] == "The scope parameter is repeated or too long."


# --- WWW-Authenticate: http.www_authenticate ------------------------------------------------------


def _settings():
    from django.conf import settings

    return dict(settings.OAUTH_PROVIDER)


def _challenges(client) -> dict[str, str]:
    app = ApplicationFactory()
    token = client.post("/oauth/token/", urlencode({"grant_type": "client_credentials"}), content_type=FORM,
                        HTTP_AUTHORIZATION=basic_auth(app.client_id, "wrong"))
    assert token.status_code == 401
    revoke = post_as(client, "/oauth/revoke/", app, {"token": "x"}, secret="wrong")
    introspect = post_as(client, "/oauth/introspect/", app, {"token": "x"}, secret="wrong")
    with override_settings(OAUTH_PROVIDER={**_settings(), "REGISTRATION_MODE": "initial_access_token"}):
        register = client.post("/oauth/register/", "{}", content_type="application/json")
    assert register.status_code == 401
    with override_settings(ROOT_URLCONF="tests.resource.urls"):
        resource = client.get("/function")
    assert resource.status_code == 401
    return {name: response["WWW-Authenticate"] for name, response in
            [("token", token), ("revoke", revoke), ("introspect", introspect), ("register", register),
             ("resource", resource)]}


def test_the_realm_is_the_same_on_token_registration_and_resource_401s(client):
    challenges = _challenges(client)
    basic = 'Basic realm="api", charset="UTF-8"'
    assert challenges["token"] == challenges["revoke"] == challenges["introspect"] == basic
    assert challenges["register"] == 'Bearer realm="api"'
    # APIs also accept DPoP-bound tokens (RFC 9449 §7.1): the same realm, one challenge per scheme.
    assert challenges["resource"] == 'Bearer realm="api", DPoP realm="api", algs="ES256 RS256 PS256 EdDSA"'


def test_one_setting_moves_every_realm(client):
    with override_settings(OAUTH_PROVIDER={**_settings(), "RESOURCE_REALM": "notes"}):
        challenges = _challenges(client)
    assert all('realm="notes"' in value for value in challenges.values()), challenges


def test_challenge_values_are_escaped_as_rfc6750_section3_requires():
    assert http.www_authenticate("Bearer", error="x", error_description='say "hi"\\ \n\u00e9') == (
        'Bearer realm="api", error="x", error_description="say hi "'
    )
    with override_settings(OAUTH_PROVIDER={**_settings(), "RESOURCE_REALM": 'a"b'}):
        assert http.basic_challenge() == {"WWW-Authenticate": 'Basic realm="ab", charset="UTF-8"'}


# --- Bearer parsing: http.bearer_credentials ------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [("Bearer abc", "abc"), ("bearer abc", "abc"), ("  Bearer   abc  ", "abc"), ("Bearer", ""), ("Bearer ", ""),
     ("Basic abc", None), ("", None)],
)
def test_bearer_credentials(header, expected):
    assert http.bearer_credentials(header) == expected


def test_registration_and_resource_read_the_same_bearer_header(client):
    # A lower-case scheme with extra spaces is read by both; a Basic header is no bearer token at both.
    with override_settings(OAUTH_PROVIDER={**_settings(), "REGISTRATION_MODE": "initial_access_token"}):
        read = client.post("/oauth/register/", "{}", content_type="application/json", HTTP_AUTHORIZATION="bearer  nope")
        other = client.post("/oauth/register/", "{}", content_type="application/json", HTTP_AUTHORIZATION="Basic x")
    assert read.json()["error_description"] == "The initial access token is invalid, expired or used up."
    assert other.json()["error_description"] == "An initial access token is required to register."
    with override_settings(ROOT_URLCONF="tests.resource.urls"):
        read = client.get("/function", HTTP_AUTHORIZATION="bearer  nope")
        other = client.get("/function", HTTP_AUTHORIZATION="Basic x")
    assert read.json()["error"] == "invalid_token"
    assert other["WWW-Authenticate"] == 'Bearer realm="api", DPoP realm="api", algs="ES256 RS256 PS256 EdDSA"'
    assert other.status_code == 401


# --- loopback redirect URIs: redirect_uris.is_loopback_host ---------------------------------------


def test_one_loopback_rule_for_registration_and_matching():
    for uri in ("http://127.0.0.1/cb", "http://[::1]/cb", "http://127.0.0.2/cb"):
        validate_redirect_uri(uri)  # registrable ...
        assert redirect_uri_matches(uri.replace("/cb", ":51234/cb"), uri)  # ... and matches on any port
    with pytest.raises(Exception, match="loopback IP"):
        validate_redirect_uri("http://localhost/cb")
    assert not is_loopback_host("localhost")
    # localhost is no loopback redirect: an exact match only, never another port.
    assert redirect_uri_matches("http://localhost/cb", "http://localhost/cb")
    assert not redirect_uri_matches("http://localhost:5000/cb", "http://localhost/cb")


@pytest.mark.parametrize(
    "requested",
    ["http://127.0.0.1:5000/cb\n", "http://127.0.0.1:5000/cb\nx", "http://127.0.0.1:5000/c\nb"],
)
def test_a_loopback_match_is_a_full_match(requested):
    assert not redirect_uri_matches(requested, "http://127.0.0.1/cb")


def test_a_newline_after_a_loopback_redirect_uri_gets_the_error_page(user_client):
    web = WebApplicationFactory(redirect_uris="http://127.0.0.1/cb")
    response = user_client.get(authorize_url(web, redirect_uri="http://127.0.0.1:5000/cb\n"))
    assert response.status_code == 400 and "Location" not in response


def test_the_jwks_fetch_rule_is_a_separate_one_that_allows_localhost():
    assert http.is_local_fetch_host("localhost") and http.is_local_fetch_host("127.0.0.1")
    assert http.is_local_fetch_host("::1") and not http.is_local_fetch_host("example.com")
    assert not http.is_local_fetch_host(None)


# --- client authentication: clients.authentication.authenticate_request ---------------------------

ENDPOINTS = {
    "token": ("/oauth/token/", {"grant_type": "client_credentials"}),
    "revocation": ("/oauth/revoke/", {"token": "x"}),
    "introspection": ("/oauth/introspect/", {"token": "x"}),
    "device": ("/oauth/device/", {}),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_endpoint_authenticates_clients_the_same_way(client, endpoint):
    path, data = ENDPOINTS[endpoint]
    app = ApplicationFactory()
    response = post_as(client, path, app, data, secret="wrong")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "Client authentication failed."}
    assert response["WWW-Authenticate"] == 'Basic realm="api", charset="UTF-8"'
    failure = AuditEvent.objects.get(event=audit.CLIENT_AUTH_FAILED)
    assert failure.details["reason"] == "wrong_secret"


def _limit_one_failure_per_client(settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "CLIENT_AUTH_MAX_FAILURES": 1,
                               "CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS": None}


@pytest.mark.security("S27")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_endpoint_limits_secret_guessing(client, settings, endpoint):
    _limit_one_failure_per_client(settings)
    path, data = ENDPOINTS[endpoint]
    app = ApplicationFactory()
    responses = [post_as(client, path, app, data, secret="wrong") for _ in range(3)]
    assert [response.status_code for response in responses] == [401, 429, 429]
    assert responses[-1].json()["error"] == "invalid_request"
    assert 0 < int(responses[-1]["Retry-After"]) <= 60
    # The refused guesses were never checked: only the first is audited as a failed authentication.
    assert AuditEvent.objects.filter(event=audit.CLIENT_AUTH_FAILED).count() == 1
    # One budget per client id, whatever the endpoint the guesses go to.
    token_path, token_data = ENDPOINTS["token"]
    assert post_as(client, token_path, app, token_data, secret="wrong").status_code == 429


def test_every_endpoint_that_authenticates_clients_is_in_the_switch():
    assert set(ENDPOINTS) <= authentication.RATE_LIMITED_ENDPOINTS


def test_switching_the_limit_off_for_an_endpoint_is_one_set(client, settings, monkeypatch):
    _limit_one_failure_per_client(settings)
    monkeypatch.setattr(authentication, "RATE_LIMITED_ENDPOINTS", frozenset({"token"}))
    path, data = ENDPOINTS["introspection"]
    app = ApplicationFactory()
    assert [post_as(client, path, app, data, secret="wrong").status_code for _ in range(3)] == [401, 401, 401]
    token_path, token_data = ENDPOINTS["token"]
    assert [post_as(client, token_path, app, token_data, secret="wrong").status_code for _ in range(2)] == [401, 429]
