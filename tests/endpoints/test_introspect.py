"""Token introspection (RFC 7662): who may see what, and what an active token says."""

from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from oauth_provider.models import AccessToken, RefreshToken
from tests.factories import ApplicationFactory, WebApplicationFactory
from tests.helpers.flows import FORM, client_credentials_token, post_as, token_request

pytestmark = pytest.mark.django_db

INTROSPECT = "/oauth/introspect/"


def past_expiry(monkeypatch, seconds=None):
    """Move the clock past the access tokens' lifetime (the JWT's exp and its row's expires_at alike)."""
    from django.conf import settings

    real_now = timezone.now
    lifetime = seconds or settings.OAUTH_PROVIDER.get("ACCESS_TOKEN_LIFETIME", 3600)
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(seconds=lifetime + 1))


def introspect(client, caller, token, hint=None, **headers):
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return post_as(client, INTROSPECT, caller, data, **headers)


@pytest.fixture
def resource_server(db):
    return ApplicationFactory(name="API", grant_types=[], is_resource_server=True)


@pytest.mark.security("S12")
def test_own_access_token_is_active_with_its_claims(client, application):
    token = client_credentials_token(client, application, scope="read write")
    body = introspect(client, application, token).json()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert body == {
        "active": True, "scope": "read write", "client_id": application.client_id, "token_type": "Bearer",
        "exp": claims["exp"], "iat": claims["iat"], "sub": application.client_id, "aud": "http://testserver",
        "iss": "http://testserver", "jti": claims["jti"],
    }


def test_user_access_token_names_the_user(client, web_app, user_tokens, user):
    body = introspect(client, web_app, user_tokens["access_token"]).json()
    assert body["username"] == user.username
    assert body["sub"] == str(user.pk)


def test_refresh_token_is_active_with_its_row(client, web_app, user_tokens, user):
    body = introspect(client, web_app, user_tokens["refresh_token"], hint="refresh_token").json()
    record = RefreshToken.objects.get()
    assert body == {
        "active": True, "scope": "read write", "client_id": web_app.client_id, "username": user.username,
        "sub": str(user.pk), "exp": int(record.expires_at.timestamp()), "iat": int(record.created_at.timestamp()),
        "iss": "http://testserver",
    }


def test_answer_is_json_and_not_cached(client, application):
    response = introspect(client, application, "unknown")
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.security("S12")
def test_unknown_token_is_inactive(client, application):
    assert introspect(client, application, "no-such-token").json() == {"active": False}


@pytest.mark.security("S12")
def test_expired_access_token_is_inactive(client, application, monkeypatch):
    token = client_credentials_token(client, application)
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    past_expiry(monkeypatch)
    assert introspect(client, application, token).json() == {"active": False}


@pytest.mark.security("S12")
def test_revoked_access_token_is_inactive(client, application, django_capture_on_commit_callbacks):
    token = client_credentials_token(client, application)
    with django_capture_on_commit_callbacks(execute=True):  # the revocation commits, as in production
        post_as(client, "/oauth/revoke/", application, {"token": token})
    assert introspect(client, application, token).json() == {"active": False}


def test_revoked_refresh_token_is_inactive(client, web_app, user_tokens):
    RefreshToken.objects.update(revoked_at=timezone.now())
    assert introspect(client, web_app, user_tokens["refresh_token"]).json() == {"active": False}


def test_rotated_refresh_token_is_inactive(client, web_app, user_tokens):
    token_request(client, web_app, {"grant_type": "refresh_token", "refresh_token": user_tokens["refresh_token"]})
    assert introspect(client, web_app, user_tokens["refresh_token"]).json() == {"active": False}


def test_idle_expired_refresh_token_is_inactive(client, web_app, user_tokens):
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert introspect(client, web_app, user_tokens["refresh_token"]).json() == {"active": False}


def test_refresh_token_past_its_family_lifetime_is_inactive(client, web_app, user_tokens):
    RefreshToken.objects.update(family_expires_at=timezone.now() - timedelta(seconds=1))
    assert introspect(client, web_app, user_tokens["refresh_token"]).json() == {"active": False}


def test_deactivated_clients_tokens_are_inactive_to_a_resource_server(
    client, application, resource_server, django_capture_on_commit_callbacks
):
    token = client_credentials_token(client, application)
    application.is_active = False
    with django_capture_on_commit_callbacks(execute=True):  # the deactivation commits, as in production
        application.save()
    assert introspect(client, resource_server, token).json() == {"active": False}


def test_deactivated_users_tokens_are_inactive(client, web_app, user_tokens, user):
    user.is_active = False
    user.save()
    assert introspect(client, web_app, user_tokens["access_token"]).json() == {"active": False}


@pytest.mark.security("S12")
def test_another_clients_token_is_inactive(client, application):
    token = client_credentials_token(client, application)
    assert introspect(client, ApplicationFactory(), token).json() == {"active": False}


def test_another_clients_refresh_token_is_inactive(client, user_tokens):
    assert introspect(client, WebApplicationFactory(), user_tokens["refresh_token"]).json() == {"active": False}


def test_resource_server_sees_tokens_for_its_audience(client, application, resource_server):
    token = client_credentials_token(client, application)
    body = introspect(client, resource_server, token).json()
    assert body["active"] is True
    assert body["client_id"] == application.client_id


def test_resource_server_does_not_see_tokens_for_another_audience(client, application):
    api = ApplicationFactory(is_resource_server=True, resource_audiences="https://other-api.example.test")
    token = client_credentials_token(client, application)
    assert introspect(client, api, token).json() == {"active": False}


def test_resource_server_with_listed_audience_sees_those_tokens(client, application):
    api = ApplicationFactory(is_resource_server=True, resource_audiences="https://a.example.test\nhttp://testserver")
    token = client_credentials_token(client, application)
    assert introspect(client, api, token).json()["active"] is True


def test_resource_server_never_sees_refresh_tokens(client, user_tokens, resource_server):
    assert introspect(client, resource_server, user_tokens["refresh_token"]).json() == {"active": False}


def test_client_without_the_flag_does_not_see_other_tokens_for_the_audience(client, application):
    token = client_credentials_token(client, application)
    assert introspect(client, ApplicationFactory(resource_audiences="http://testserver"), token).json() == {
        "active": False
    }


def test_forged_jwt_with_a_real_jti_is_inactive(client, application):
    token = client_credentials_token(client, application)
    claims = jwt.decode(token, options={"verify_signature": False})
    attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, attacker_key, algorithm="RS256",
                        headers={"kid": jwt.get_unverified_header(token)["kid"], "typ": "at+jwt"})
    assert introspect(client, application, forged).json() == {"active": False}


def test_jwt_without_at_jwt_type_is_inactive(client, application):
    from oauth_provider.keys.store import get_signing_key

    token = client_credentials_token(client, application)
    claims = jwt.decode(token, options={"verify_signature": False})
    key = get_signing_key()
    other_type = jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid})
    assert introspect(client, application, other_type).json() == {"active": False}


@pytest.mark.security("S12")
def test_unauthenticated_introspection_is_invalid_client(client, application):
    token = client_credentials_token(client, application)
    response = client.post(INTROSPECT, data=urlencode({"token": token}), content_type=FORM)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "active" not in response.json()


def test_wrong_secret_is_invalid_client(client, application):
    token = client_credentials_token(client, application)
    response = post_as(client, INTROSPECT, application, {"token": token}, secret="wrong-" * 6)
    assert response.status_code == 401


@pytest.mark.security("S3")
def test_public_client_may_not_introspect(client, public_app):
    response = introspect(client, public_app, "anything")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_deactivated_client_may_not_introspect(client, application):
    token = client_credentials_token(client, application)
    application.is_active = False
    application.save()
    assert introspect(client, application, token).status_code == 401


def test_missing_token_is_invalid_request(client, application):
    response = post_as(client, INTROSPECT, application, {})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_token_in_the_query_string_is_refused(client, application):
    response = post_as(client, f"{INTROSPECT}?token=abc", application, {"token": "abc"})
    assert response.status_code == 400


def test_get_is_not_allowed(client):
    assert client.get(INTROSPECT).status_code == 405


def test_introspection_query_budget(client, application, django_assert_num_queries):
    token = client_credentials_token(client, application)
    introspect(client, application, token)  # warms this process's verification keys
    # The client only: a JWT is answered from its verified claims and the revoked set (no token query);
    # the keys come from the process cache. Down from 2 (client + token row with client and user joined).
    with django_assert_num_queries(1):
        assert introspect(client, application, token).json()["active"] is True


def test_introspection_query_budget_for_a_resource_servers_caller(client, application, resource_server,
                                                                   django_assert_num_queries):
    token = client_credentials_token(client, application)
    introspect(client, resource_server, token)
    with django_assert_num_queries(1):
        assert introspect(client, resource_server, token).json()["active"] is True


def test_introspection_query_budget_for_a_users_token(client, web_app, user_tokens, django_assert_num_queries):
    introspect(client, web_app, user_tokens["access_token"])
    # The client, and the user (username; an inactive user's tokens are inactive): one statement each.
    with django_assert_num_queries(2) as captured:
        assert introspect(client, web_app, user_tokens["access_token"]).json()["active"] is True
    assert " JOIN " not in captured.captured_queries[1]["sql"].upper()


def test_introspection_query_budget_for_a_refresh_token(client, web_app, user_tokens, django_assert_num_queries):
    introspect(client, web_app, user_tokens["refresh_token"], hint="refresh_token")
    # The client, and the refresh token by digest with its user joined: no client join, no ordering.
    with django_assert_num_queries(2) as captured:
        assert introspect(client, web_app, user_tokens["refresh_token"], hint="refresh_token").json()["active"]
    sql = captured.captured_queries[1]["sql"].upper()
    assert sql.count(" JOIN ") == 1 and "ORDER BY" not in sql and "OAUTH_PROVIDER_APPLICATION" not in sql


def test_refresh_token_without_hint_costs_no_more(client, web_app, user_tokens, django_assert_num_queries):
    introspect(client, web_app, user_tokens["refresh_token"])
    with django_assert_num_queries(2):
        assert introspect(client, web_app, user_tokens["refresh_token"]).json()["active"] is True


def test_access_token_with_a_refresh_hint_is_still_found(client, application):
    token = client_credentials_token(client, application)
    assert introspect(client, application, token, hint="refresh_token").json()["active"] is True


def test_a_revoked_token_is_inactive_whatever_its_row_says(client, application, monkeypatch):
    """The answer for a JWT comes from the revoked set (is_jti_revoked), checked on every request."""
    from oauth_provider.endpoints import introspect as introspect_module

    token = client_credentials_token(client, application)
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert introspect(client, application, token).json()["active"] is True
    monkeypatch.setattr(introspect_module, "is_jti_revoked", lambda value: value == jti)
    assert introspect(client, application, token).json() == {"active": False}


def test_a_token_not_yet_valid_is_inactive(client, application, monkeypatch):
    token = client_credentials_token(client, application)
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() - timedelta(seconds=60))
    assert introspect(client, application, token).json() == {"active": False}


def test_a_users_token_for_a_deleted_user_is_inactive(client, web_app, user_tokens, user):
    AccessToken.objects.update(user=None)  # the row no longer names a user (the user row went away)
    assert introspect(client, web_app, user_tokens["access_token"]).json() == {"active": False}


def test_metadata_advertises_the_introspection_endpoint(client):
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["introspection_endpoint"] == "http://testserver/oauth/introspect/"
    assert document["introspection_endpoint_auth_methods_supported"] == ["client_secret_basic",
                                                                         "client_secret_post", "private_key_jwt"]


@pytest.mark.security("S12")
@pytest.mark.parametrize("case", ["unknown", "expired", "revoked", "not_the_callers"])
def test_unknown_expired_revoked_or_foreign_tokens_answer_only_inactive(
    client, web_app, user_tokens, case, monkeypatch, django_capture_on_commit_callbacks
):
    token, caller = user_tokens["access_token"], web_app
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    if case == "unknown":
        token = "not-a-token"
    elif case == "expired":
        AccessToken.objects.filter(jti=jti).update(expires_at=timezone.now() - timedelta(seconds=1))
        past_expiry(monkeypatch)
    elif case == "revoked":
        with django_capture_on_commit_callbacks(execute=True):  # the revocation commits, as in production
            post_as(client, "/oauth/revoke/", web_app, {"token": token})
    else:
        caller = ApplicationFactory()
    assert introspect(client, caller, token).json() == {"active": False}
