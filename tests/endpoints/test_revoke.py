"""Token revocation (RFC 7009): what is revoked, what is not, and every error."""

from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.models import AccessToken, AuditEvent, RefreshToken
from oauth_provider.tokens.revocation import is_jti_revoked
from tests.factories import ApplicationFactory, WebApplicationFactory
from tests.helpers.flows import FORM, client_credentials_token, obtain_code, post_as, redeem, token_request

pytestmark = pytest.mark.django_db

REVOKE = "/oauth/revoke/"


def revoke(client, application, token, hint=None, **headers):
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return post_as(client, REVOKE, application, data, **headers)


def refresh(client, application, token: str):
    return token_request(client, application, {"grant_type": "refresh_token", "refresh_token": token})


def jti_of(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def test_revoking_an_access_token_marks_it_revoked(client, application):
    token = client_credentials_token(client, application)
    response = revoke(client, application, token)
    assert response.status_code == 200
    assert AccessToken.objects.get(jti=jti_of(token)).revoked_at is not None


def test_revoked_jti_reaches_resource_servers_through_the_cache(client, application,
                                                               django_capture_on_commit_callbacks):
    token = client_credentials_token(client, application)
    with django_capture_on_commit_callbacks(execute=True):
        revoke(client, application, token)
    assert is_jti_revoked(jti_of(token))


def test_revocation_answer_is_empty_and_not_cached(client, application):
    response = revoke(client, application, client_credentials_token(client, application))
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"


@pytest.mark.security("S11")
def test_revoking_a_refresh_token_revokes_its_family_and_access_tokens(client, web_app, user_tokens):
    response = revoke(client, web_app, user_tokens["refresh_token"], hint="refresh_token")
    assert response.status_code == 200
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()
    assert AccessToken.objects.get(jti=jti_of(user_tokens["access_token"])).revoked_at is not None


def test_revoked_refresh_token_no_longer_refreshes(client, web_app, user_tokens):
    revoke(client, web_app, user_tokens["refresh_token"])
    response = token_request(client, web_app, {"grant_type": "refresh_token",
                                               "refresh_token": user_tokens["refresh_token"]})
    assert response.json()["error"] == "invalid_grant"


def test_revoking_a_rotated_refresh_token_ends_the_whole_family(client, web_app, user_tokens):
    rotated = token_request(client, web_app, {"grant_type": "refresh_token",
                                              "refresh_token": user_tokens["refresh_token"]}).json()
    revoke(client, web_app, user_tokens["refresh_token"])
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()
    assert AccessToken.objects.get(jti=jti_of(rotated["access_token"])).revoked_at is not None


def test_revoking_an_access_token_leaves_its_refresh_token_alone(client, web_app, user_tokens):
    revoke(client, web_app, user_tokens["access_token"])
    assert not RefreshToken.objects.filter(revoked_at__isnull=False).exists()


def test_wrong_hint_still_finds_the_token(client, web_app, user_tokens):
    revoke(client, web_app, user_tokens["access_token"], hint="refresh_token")
    assert AccessToken.objects.get(jti=jti_of(user_tokens["access_token"])).revoked_at is not None


def test_unknown_hint_is_ignored_and_the_token_revoked(client, application):
    token = client_credentials_token(client, application)
    response = revoke(client, application, token, hint="id_token")
    assert response.status_code == 200
    assert AccessToken.objects.get(jti=jti_of(token)).revoked_at is not None


def test_public_client_revokes_its_own_refresh_token(user_client, client, public_app):
    tokens = redeem(user_client, public_app, obtain_code(user_client, public_app)).json()
    response = revoke(client, public_app, tokens["refresh_token"])
    assert response.status_code == 200
    assert RefreshToken.objects.get().revoked_at is not None


@pytest.mark.security("S11")
def test_another_clients_access_token_is_left_alone(client, application):
    token = client_credentials_token(client, application)
    response = revoke(client, ApplicationFactory(), token)
    assert response.status_code == 200
    assert AccessToken.objects.get().revoked_at is None


@pytest.mark.security("S11")
def test_another_clients_refresh_token_is_left_alone(client, user_tokens):
    response = revoke(client, WebApplicationFactory(), user_tokens["refresh_token"])
    assert response.status_code == 200
    assert not RefreshToken.objects.filter(revoked_at__isnull=False).exists()
    assert not AccessToken.objects.filter(revoked_at__isnull=False).exists()


def test_unknown_token_answers_200(client, application):
    assert revoke(client, application, "no-such-token").status_code == 200


def test_expired_access_token_answers_200_and_changes_nothing(client, application):
    token = client_credentials_token(client, application)
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert revoke(client, application, token).status_code == 200
    assert AccessToken.objects.get().revoked_at is None


def test_expired_refresh_token_answers_200_and_changes_nothing(client, web_app, user_tokens):
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert revoke(client, web_app, user_tokens["refresh_token"]).status_code == 200
    assert not RefreshToken.objects.filter(revoked_at__isnull=False).exists()
    assert AccessToken.objects.get().revoked_at is None


def test_forged_jwt_with_a_victims_jti_revokes_nothing(client, application):
    victim_token = client_credentials_token(client, application)
    claims = jwt.decode(victim_token, options={"verify_signature": False})
    header = jwt.get_unverified_header(victim_token)
    attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, attacker_key, algorithm="RS256", headers={"kid": header["kid"], "typ": "at+jwt"})
    response = revoke(client, application, forged)
    assert response.status_code == 200
    assert AccessToken.objects.get().revoked_at is None


def test_unsigned_jwt_with_a_victims_jti_revokes_nothing(client, application):
    victim_token = client_credentials_token(client, application)
    claims = jwt.decode(victim_token, options={"verify_signature": False})
    header = jwt.get_unverified_header(victim_token)
    forged = jwt.encode(claims, None, algorithm="none", headers={"kid": header["kid"], "typ": "at+jwt"})
    revoke(client, application, forged)
    assert AccessToken.objects.get().revoked_at is None


def test_revocation_is_audited_without_the_token(client, application):
    token = client_credentials_token(client, application)
    revoke(client, application, token)
    event = AuditEvent.objects.get(event=audit.TOKEN_REVOKED)
    assert event.details == {"token_type": "access_token", "jti": jti_of(token)}
    assert token not in str(event.details)


def test_nothing_revoked_is_not_audited(client, application):
    revoke(client, application, "no-such-token")
    assert not AuditEvent.objects.filter(event=audit.TOKEN_REVOKED).exists()


def test_missing_token_is_invalid_request(client, application):
    response = post_as(client, REVOKE, application, {})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_wrong_secret_is_invalid_client(client, application):
    token = client_credentials_token(client, application)
    response = post_as(client, REVOKE, application, {"token": token}, secret="wrong-secret-" * 3)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "Basic" in response["WWW-Authenticate"]
    assert AccessToken.objects.get().revoked_at is None


@pytest.mark.security("S3")
def test_unauthenticated_request_is_invalid_client(client, application):
    token = client_credentials_token(client, application)
    response = client.post(REVOKE, data=urlencode({"token": token}), content_type=FORM)
    assert response.status_code == 401
    assert AccessToken.objects.get().revoked_at is None


@pytest.mark.security("S3")
def test_confidential_client_without_its_secret_is_invalid_client(client, application):
    token = client_credentials_token(client, application)
    response = client.post(REVOKE, data=urlencode({"token": token, "client_id": application.client_id}),
                           content_type=FORM)
    assert response.status_code == 401
    assert AccessToken.objects.get().revoked_at is None


def test_deactivated_client_cannot_revoke(client, application):
    token = client_credentials_token(client, application)
    application.is_active = False
    application.save()
    assert revoke(client, application, token).status_code == 401


def test_token_in_the_query_string_is_refused(client, application):
    token = client_credentials_token(client, application)
    response = post_as(client, f"{REVOKE}?token={token}", application, {"token": token})
    assert response.status_code == 400
    assert AccessToken.objects.get().revoked_at is None


def test_get_is_not_allowed(client):
    response = client.get(REVOKE)
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"


def test_json_body_is_invalid_request(client, application):
    response = client.post(REVOKE, data={"token": "x"}, content_type="application/json")
    assert response.status_code == 400


def test_registered_origin_gets_cors_headers(client, public_app):
    public_app.allowed_origins = "https://spa.example.test"
    public_app.save()
    response = revoke(client, public_app, "anything", HTTP_ORIGIN="https://spa.example.test")
    assert response["Access-Control-Allow-Origin"] == "https://spa.example.test"


def test_preflight_is_answered_for_a_registered_origin(client, public_app):
    public_app.allowed_origins = "https://spa.example.test"
    public_app.save()
    response = client.options(REVOKE, HTTP_ORIGIN="https://spa.example.test",
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://spa.example.test"


def test_metadata_advertises_the_revocation_endpoint(client):
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["revocation_endpoint"] == "http://testserver/oauth/revoke/"
    assert "none" in document["revocation_endpoint_auth_methods_supported"]


def test_revocation_query_budget(client, application, django_assert_num_queries):
    revoke(client, application, client_credentials_token(client, application))  # warms the key cache
    token = client_credentials_token(client, application)
    # client, access token; savepoint, live rows, update, revocation record (the store of record the
    # resource side reads, tokens.revocation), audit row, release (keys: process cache)
    with django_assert_num_queries(8):
        assert revoke(client, application, token).status_code == 200


@pytest.mark.security("S11")
def test_revoking_a_refresh_token_ends_its_access_tokens_everywhere(
    client, web_app, user_tokens, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert revoke(client, web_app, user_tokens["refresh_token"], "refresh_token").status_code == 200
    jti = jwt.decode(user_tokens["access_token"], options={"verify_signature": False})["jti"]
    assert AccessToken.objects.get(jti=jti).revoked_at is not None
    assert is_jti_revoked(jti)
    assert refresh(client, web_app, user_tokens["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.security("S11")
def test_revoking_another_clients_token_answers_as_for_an_unknown_one_and_changes_nothing(
    client, web_app, user_tokens
):
    other = ApplicationFactory()
    unknown = revoke(client, other, "no-such-token")
    response = revoke(client, other, user_tokens["refresh_token"])
    assert (response.status_code, response.content) == (unknown.status_code, unknown.content) == (200, b"")
    assert not RefreshToken.objects.filter(revoked_at__isnull=False).exists()
    assert refresh(client, web_app, user_tokens["refresh_token"]).status_code == 200
