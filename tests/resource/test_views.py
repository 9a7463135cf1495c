"""Middleware, DRF authentication and permissions, and @require_scopes on each view style (RFC 6750)."""

import time
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from oauth_provider.resource import validator as validator_module
from tests.factories import UserFactory
from tests.helpers.flows import FORM
from tests.helpers.jwt import oauth_settings_with, token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.resource.urls")]

# Every style, each needing the `read` scope for GET.
STYLES = ["/function", "/class", "/drf-function", "/drf-scopes", "/drf-read-write"]

BARE_CHALLENGE = 'Bearer realm="api", DPoP realm="api", algs="ES256 RS256 PS256 EdDSA"'
TOKEN_REQUIRED = {"detail": "An access token is required (Authorization: Bearer)."}


def form(**values: str) -> str:
    return urlencode(values)


def bearer(value: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {value}"}


def expired_token() -> str:
    now = int(time.time())
    return token(iat=now - 700, exp=now - 100)


@pytest.mark.parametrize("path", STYLES)
def test_valid_token_with_the_scope_is_let_through(client, path):
    response = client.get(path, **bearer(token(scope="read")))
    assert response.status_code == 200
    assert response.json()["client_id"] == "client-1"


@pytest.mark.parametrize("path", STYLES)
def test_no_token_answers_401_with_a_bare_challenge(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE
    assert response.json() == TOKEN_REQUIRED


@pytest.mark.parametrize("path", STYLES)
def test_other_authorization_scheme_answers_401_with_a_bare_challenge(client, path):
    response = client.get(path, HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


@pytest.mark.security("S16")
@pytest.mark.parametrize("path", STYLES)
def test_invalid_token_answers_401_invalid_token(client, path):
    response = client.get(path, **bearer(expired_token()))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description="The access token expired."'
    )
    assert response.json() == {"error": "invalid_token", "error_description": "The access token expired."}


@pytest.mark.security("S16")
@pytest.mark.parametrize("path", STYLES)
def test_missing_scope_answers_403_insufficient_scope_naming_the_scope(client, path):
    response = client.get(path, **bearer(token(scope="write")))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="The access token lacks a scope this request needs.", scope="read"'
    )
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": "The access token lacks a scope this request needs.",
    }


@pytest.mark.security("S16")
@pytest.mark.parametrize("path", STYLES)
def test_token_in_the_query_string_is_refused(client, path):
    response = client.get(f"{path}?access_token={token()}")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_request", error_description="Access tokens in the query string '
        'are refused; use the Authorization header."'
    )


@pytest.mark.parametrize("path", STYLES)
def test_token_in_the_query_string_is_refused_even_with_a_valid_header(client, path):
    value = token()
    response = client.get(f"{path}?access_token={value}", **bearer(value))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", STYLES)
def test_token_in_header_and_form_body_is_refused(client, path):
    value = token(scope="read write")
    response = client.post(path, form(access_token=value), content_type=FORM, **bearer(value))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The request carries an access token in more than one place.",
    }


@pytest.mark.parametrize("path", STYLES)
def test_token_only_in_the_form_body_is_refused(client, path):
    response = client.post(path, form(access_token=token(scope="read write")), content_type=FORM)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", STYLES)
@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b", "Bearer a,b", "Bearer \"abc\""])
def test_malformed_bearer_header_answers_400_invalid_request(client, path, header):
    response = client.get(path, HTTP_AUTHORIZATION=header)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The Authorization header is malformed; use 'Bearer <token>'.",
    }
    assert response["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_request"')


def test_bearer_scheme_is_case_insensitive(client):
    response = client.get("/function", HTTP_AUTHORIZATION=f"bearer {token()}")
    assert response.status_code == 200


def test_garbage_token_answers_invalid_token(client):
    response = client.get("/drf-scopes", **bearer("abc.def.ghi"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


# --- class-based view methods and write scopes -------------------------------------------------


def test_method_decorator_on_a_class_view_method_requires_its_scope(client):
    response = client.post("/class", **bearer(token(scope="read")))
    assert response.status_code == 403
    assert response["WWW-Authenticate"].endswith('scope="write"')
    assert client.post("/class", **bearer(token(scope="write"))).status_code == 200


def test_read_write_permission_needs_write_for_unsafe_methods(client):
    response = client.post("/drf-read-write", **bearer(token(scope="read")))
    assert response.status_code == 403
    assert response["WWW-Authenticate"].endswith('scope="write"')
    assert client.post("/drf-read-write", **bearer(token(scope="write"))).json()["method"] == "POST"


def test_read_write_permission_needs_read_for_safe_methods(client):
    assert client.head("/drf-read-write", **bearer(token(scope="write"))).status_code == 403
    assert client.get("/drf-read-write", **bearer(token(scope="read"))).status_code == 200


def test_has_scopes_without_required_scopes_is_a_configuration_error(client):
    with pytest.raises(ImproperlyConfigured):
        client.get("/drf-missing-scopes", **bearer(token()))


def test_permissions_and_authentication_work_as_rest_framework_defaults(rf):
    resource = "oauth_provider.resource"
    defaults = {
        "DEFAULT_AUTHENTICATION_CLASSES": [f"{resource}.authentication.BearerTokenAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": [f"{resource}.permissions.HasReadWriteScopes"],
    }
    with override_settings(REST_FRAMEWORK=defaults):
        # APIView binds the defaults when DRF is imported; a project's views get them the same way.
        class DefaultsView(APIView):
            authentication_classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES
            permission_classes = api_settings.DEFAULT_PERMISSION_CLASSES

            def get(self, request):
                return Response({"client_id": request.auth.client_id})

        view = DefaultsView.as_view()
        assert view(rf.get("/", **bearer(token(scope="read")))).data == {"client_id": "client-1"}
        assert view(rf.get("/", **bearer(token(scope="write")))).status_code == 403
        response = view(rf.get("/"))
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == BARE_CHALLENGE


def test_decorated_function_view_is_exempt_from_csrf():
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/function", **bearer(token(scope="read")))
    assert response.status_code == 200


def test_realm_comes_from_settings(client):
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_REALM="notes")):
        both = 'Bearer realm="notes", DPoP realm="notes", algs="ES256 RS256 PS256 EdDSA"'
        assert client.get("/function")["WWW-Authenticate"] == both
        assert client.get("/drf-scopes")["WWW-Authenticate"] == both


# --- middleware ----------------------------------------------------------------------------------


def test_middleware_sets_request_oauth_for_a_valid_token(client):
    assert client.get("/open", **bearer(token())).json() == {"oauth": "client-1", "oauth_error": None}


def test_middleware_leaves_request_oauth_none_without_a_token(client):
    assert client.get("/open").json() == {"oauth": None, "oauth_error": None}


def test_invalid_token_does_not_break_views_that_need_no_token(client):
    response = client.get("/open", **bearer(expired_token()))
    assert response.status_code == 200
    assert response.json() == {"oauth": None, "oauth_error": "invalid_token"}


def test_decorators_and_drf_classes_work_without_the_middleware(client):
    middleware = [m for m in settings.MIDDLEWARE if "OAuthTokenMiddleware" not in m]
    with override_settings(MIDDLEWARE=middleware):
        for path in STYLES:
            assert client.get(path, **bearer(token(scope="read"))).status_code == 200
            assert client.get(path, **bearer(expired_token())).status_code == 401


def test_token_is_validated_once_per_request(client, monkeypatch):
    calls = []
    original = validator_module.TokenValidator.validate

    def counting(self, value):
        calls.append(value)
        return original(self, value)

    monkeypatch.setattr(validator_module.TokenValidator, "validate", counting)
    client.get("/drf-scopes", **bearer(token()))
    assert len(calls) == 1


# --- users and query counts ------------------------------------------------------------------------


def test_drf_request_user_is_the_token_user(client):
    user = UserFactory()
    response = client.get("/drf-scopes", **bearer(token(sub=str(user.pk))))
    assert response.json()["user"] == user.username


def test_drf_request_user_is_anonymous_for_a_client_token(client):
    assert client.get("/drf-scopes", **bearer(token())).json()["user"] == "AnonymousUser"


def test_protected_drf_request_makes_no_query_after_warm_up(client, django_assert_num_queries):
    user = UserFactory()
    client.get("/drf-read-write", **bearer(token(sub=str(user.pk))))
    value = token(sub=str(user.pk))
    with django_assert_num_queries(0):
        response = client.get("/drf-read-write", **bearer(value))
    assert response.status_code == 200


def test_protected_function_view_makes_no_query_after_warm_up(client, django_assert_num_queries):
    client.get("/function", **bearer(token()))
    value = token()
    with django_assert_num_queries(0):
        assert client.get("/function", **bearer(value)).status_code == 200


# --- a database blip while loading local keys (keys unavailable, never an HTML 500) -------------------


def _failing_signing_key_queries(execute, sql, params, many, context):
    from django.db import OperationalError

    if "oauth_provider_signingkey" in sql:
        raise OperationalError("server closed the connection unexpectedly")
    return execute(sql, params, many, context)


@pytest.mark.parametrize("path", STYLES)
def test_a_database_failure_while_loading_keys_is_503_json_and_recovery_is_immediate(client, path):
    from django.db import connection

    from oauth_provider import keys

    valid = token(scope="read")  # signs with a stored key (and loads the cache)
    keys.clear_cache()
    with connection.execute_wrapper(_failing_signing_key_queries):
        response = client.get(path, **bearer(valid))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "temporarily_unavailable"
    assert "WWW-Authenticate" not in response or "invalid_token" not in response["WWW-Authenticate"]
    # The database is back: the same token verifies at once, not after the refetch interval.
    response = client.get(path, **bearer(valid))
    assert response.status_code == 200, response.content


def test_a_database_failure_with_a_stale_snapshot_recovers_at_once(client):
    from django.db import connection

    from oauth_provider import keys
    from oauth_provider.keys.store import key_cache

    valid = token(scope="read")
    assert client.get("/function", **bearer(valid)).status_code == 200
    real_clock = key_cache.clock
    start = real_clock()
    key_cache._clock = lambda: start + 10_000  # every snapshot is stale now
    try:
        with connection.execute_wrapper(_failing_signing_key_queries):
            assert client.get("/function", **bearer(valid)).status_code == 503
        assert client.get("/function", **bearer(valid)).status_code == 200
    finally:
        key_cache._clock = real_clock
        keys.clear_cache()


def test_protected_drf_request_with_revocation_on_makes_no_query(client, django_assert_num_queries):
    """The protected path's budget: 0 queries with the revocation check on, cached token or not."""
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_CHECK_REVOCATION=True)):
        client.get("/drf-scopes", **bearer(token()))  # warms the keys
        value = token()
        for _ in range(2):  # first use (verified), then from the cache
            with django_assert_num_queries(0):
                assert client.get("/drf-scopes", **bearer(value)).status_code == 200


def test_revoked_token_is_refused_by_a_protected_view_after_cached_use(client, django_capture_on_commit_callbacks):
    from oauth_provider.models import AccessToken
    from oauth_provider.tokens.issue import issue_access_token
    from oauth_provider.tokens.revocation import revoke_access_tokens
    from tests.factories import ApplicationFactory

    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_CHECK_REVOCATION=True)):
        issued = issue_access_token(application=ApplicationFactory(), scope=["read"], grant_type="client_credentials")
        assert client.get("/drf-scopes", **bearer(issued.token)).status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            revoke_access_tokens(AccessToken.objects.filter(pk=issued.record.pk))
        response = client.get("/drf-scopes", **bearer(issued.token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
