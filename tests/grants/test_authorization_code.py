"""The authorization_code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636)."""

from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from django.test import Client
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.crypto import pkce_s256
from oauth_provider.keys.store import get_jwks, get_signing_key
from oauth_provider.models import AccessToken, AuditEvent, AuthorizationCode, RefreshToken
from oauth_provider.tokens.revocation import is_jti_revoked
from tests.factories import ApplicationFactory, WebApplicationFactory
from tests.helpers.flows import VERIFIER, obtain_code, redeem, token_request

pytestmark = pytest.mark.django_db


def claims_of(token: str) -> dict:
    key = jwt.PyJWKSet.from_dict(get_jwks()).keys[0]
    return jwt.decode(token, key, algorithms=["RS256"], audience="http://testserver")


def test_code_is_exchanged_for_access_and_refresh_token(user_client, web_app, user):
    code = obtain_code(user_client, web_app, scope="read write")
    response = redeem(user_client, web_app, code)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write"
    assert body["refresh_token"]
    assert response["Cache-Control"] == "no-store"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == str(user.pk)
    assert claims["client_id"] == web_app.client_id
    assert claims["scope"] == "read write"


def test_public_client_redeems_with_none_authentication(user_client, public_app):
    code = obtain_code(user_client, public_app)
    response = redeem(user_client, public_app, code)
    assert response.status_code == 200, response.content
    assert "refresh_token" in response.json()


def test_client_without_refresh_grant_gets_no_refresh_token(user_client):
    app = WebApplicationFactory(grant_types=["authorization_code"])
    response = redeem(user_client, app, obtain_code(user_client, app))
    assert response.status_code == 200
    assert "refresh_token" not in response.json()
    assert not RefreshToken.objects.exists()


def test_code_is_stored_only_as_digest(user_client, web_app):
    code = obtain_code(user_client, web_app)
    assert not AuthorizationCode.objects.filter(code_digest=code).exists()


def test_unknown_code_is_invalid_grant(user_client, web_app):
    assert redeem(user_client, web_app, "not-a-code").json()["error"] == "invalid_grant"


def test_missing_code_is_invalid_request(user_client, web_app):
    assert redeem(user_client, web_app, None).json()["error"] == "invalid_request"


def test_code_in_query_string_is_refused(user_client, web_app):
    code = obtain_code(user_client, web_app)
    response = user_client.post(f"/oauth/token/?code={code}", data="grant_type=authorization_code",
                                content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


@pytest.mark.security("S6")
def test_expired_code_is_invalid_grant(user_client, web_app):
    code = obtain_code(user_client, web_app)
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert redeem(user_client, web_app, code).json()["error"] == "invalid_grant"


@pytest.mark.security("S6")
def test_code_of_another_client_is_invalid_grant(user_client, web_app):
    code = obtain_code(user_client, web_app)
    other = WebApplicationFactory()
    assert redeem(user_client, other, code).json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_code_of_another_client_stays_redeemable_by_its_owner(user_client, web_app):
    code = obtain_code(user_client, web_app)
    redeem(user_client, WebApplicationFactory(), code)
    assert redeem(user_client, web_app, code).status_code == 200


def test_wrong_client_secret_is_invalid_client(user_client, web_app):
    code = obtain_code(user_client, web_app)
    web_app.secret = "x" * 43
    response = redeem(user_client, web_app, code)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_inactive_client_cannot_redeem(user_client, web_app):
    code = obtain_code(user_client, web_app)
    web_app.is_active = False
    web_app.save()
    assert redeem(user_client, web_app, code).json()["error"] == "invalid_client"


def test_client_without_the_grant_is_unauthorized_client(user_client):
    app = ApplicationFactory()
    response = redeem(user_client, app, "whatever", redirect_uri="https://web.example.test/callback")
    assert response.json()["error"] == "unauthorized_client"


# --- redirect_uri ---------------------------------------------------------------------------------


@pytest.mark.security("S6")
def test_different_redirect_uri_is_invalid_grant(user_client, web_app):
    code = obtain_code(user_client, web_app)
    response = redeem(user_client, web_app, code, redirect_uri="https://web.example.test/callback/")
    assert response.json()["error"] == "invalid_grant"


def test_missing_redirect_uri_is_invalid_grant_when_the_request_had_one(user_client, web_app):
    code = obtain_code(user_client, web_app)
    assert redeem(user_client, web_app, code, redirect_uri=None).json()["error"] == "invalid_grant"


def test_redirect_uri_may_be_omitted_when_the_request_omitted_it(user_client, web_app):
    code = obtain_code(user_client, web_app, redirect_uri=None)
    assert redeem(user_client, web_app, code, redirect_uri=None).status_code == 200


# --- PKCE (docs/SECURITY.md S5) -------------------------------------------------------------------------


@pytest.mark.security("S5")
def test_missing_verifier_is_invalid_grant(user_client, web_app):
    code = obtain_code(user_client, web_app)
    assert redeem(user_client, web_app, code, code_verifier=None).json()["error"] == "invalid_grant"


@pytest.mark.security("S5")
def test_wrong_verifier_is_invalid_grant(user_client, web_app):
    code = obtain_code(user_client, web_app)
    response = redeem(user_client, web_app, code, code_verifier="w" * 50)
    assert response.json()["error"] == "invalid_grant"


def test_challenge_itself_as_verifier_is_invalid_grant(user_client, web_app):
    code = obtain_code(user_client, web_app)
    response = redeem(user_client, web_app, code, code_verifier=pkce_s256(VERIFIER))
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.security("S5")
def test_verifier_for_code_without_challenge_is_refused_as_downgrade(user_client):
    app = WebApplicationFactory(require_pkce=False)
    code = obtain_code(user_client, app, code_challenge=None, code_challenge_method=None)
    assert redeem(user_client, app, code).json()["error"] == "invalid_grant"


def test_code_without_challenge_works_for_client_that_turned_pkce_off(user_client):
    app = WebApplicationFactory(require_pkce=False)
    code = obtain_code(user_client, app, code_challenge=None, code_challenge_method=None)
    assert redeem(user_client, app, code, code_verifier=None).status_code == 200


def test_plain_pkce_works_for_client_that_opted_in(user_client):
    app = WebApplicationFactory(allow_plain_pkce=True)
    code = obtain_code(user_client, app, code_challenge=VERIFIER, code_challenge_method="plain")
    assert redeem(user_client, app, code).status_code == 200


def test_plain_verifier_against_s256_challenge_is_invalid_grant(user_client):
    app = WebApplicationFactory(allow_plain_pkce=True)
    code = obtain_code(user_client, app)
    response = redeem(user_client, app, code, code_verifier=pkce_s256(VERIFIER))
    assert response.json()["error"] == "invalid_grant"


# --- single use (docs/SECURITY.md S6) -------------------------------------------------------------------


@pytest.mark.security("S6")
def test_replayed_code_is_invalid_grant(user_client, web_app):
    code = obtain_code(user_client, web_app)
    assert redeem(user_client, web_app, code).status_code == 200
    response = redeem(user_client, web_app, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.security("S6")
def test_replayed_code_revokes_issued_tokens(user_client, web_app, django_capture_on_commit_callbacks):
    code = obtain_code(user_client, web_app)
    redemption = redeem(user_client, web_app, code)
    assert redemption.status_code == 200
    first = redemption.json()
    with django_capture_on_commit_callbacks(execute=True):
        assert redeem(user_client, web_app, code).json()["error"] == "invalid_grant"
    access = AccessToken.objects.get()
    assert access.revoked_at is not None
    assert is_jti_revoked(access.jti)
    assert RefreshToken.objects.get().revoked_at is not None
    response = redeem(user_client, web_app, code)  # still refused, nothing left to revoke
    assert response.json()["error"] == "invalid_grant"
    refresh = token_request(user_client, web_app, {"grant_type": "refresh_token",
                                                    "refresh_token": first["refresh_token"]})
    assert refresh.json()["error"] == "invalid_grant"


def test_replayed_code_revokes_tokens_rotated_from_its_refresh_token(user_client, web_app):
    code = obtain_code(user_client, web_app)
    first = redeem(user_client, web_app, code).json()
    token_request(user_client, web_app, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    redeem(user_client, web_app, code)
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()
    assert not AccessToken.objects.filter(revoked_at__isnull=True).exists()


def test_replayed_code_is_audited(user_client, web_app):
    code = obtain_code(user_client, web_app)
    redeem(user_client, web_app, code)
    redeem(user_client, web_app, code)
    assert AuditEvent.objects.filter(event=audit.CODE_REDEEMED).count() == 1
    assert AuditEvent.objects.filter(event=audit.CODE_REPLAYED).count() == 1


def test_replay_leaves_other_codes_tokens_alone(user_client, web_app):
    first = obtain_code(user_client, web_app)
    second = obtain_code(user_client, web_app)
    redeem(user_client, web_app, first)
    redeem(user_client, web_app, second)
    redeem(user_client, web_app, first)
    assert AccessToken.objects.filter(revoked_at__isnull=True).count() == 1


def test_deactivated_user_cannot_redeem(user_client, web_app, user):
    code = obtain_code(user_client, web_app)
    user.is_active = False
    user.save()
    assert redeem(user_client, web_app, code).json()["error"] == "invalid_grant"


# --- sub (item 6) --------------------------------------------------------------------------------


def email_subject(user) -> str:
    return f"mail:{user.email}"


def test_sub_is_configurable(user_client, web_app, user, settings):
    settings.OAUTH_PROVIDER = {
        **settings.OAUTH_PROVIDER,
        "USER_SUBJECT": "tests.grants.test_authorization_code.email_subject",
    }
    token = redeem(user_client, web_app, obtain_code(user_client, web_app)).json()["access_token"]
    assert claims_of(token)["sub"] == f"mail:{user.email}"


# --- cost ------------------------------------------------------------------------------------------


def test_redemption_query_count(user_client, web_app, django_assert_num_queries):
    get_signing_key()  # the per-process key cache is warm in a running server
    code = obtain_code(user_client, web_app)
    # application; code (+user); update code; insert refresh; insert access; audit
    with django_assert_num_queries(6):
        response = redeem(user_client, web_app, code)
    assert response.status_code == 200


@pytest.mark.security("S3")
def test_confidential_client_must_authenticate_to_redeem_a_code(client, user_client, web_app):
    code = obtain_code(user_client, web_app)
    body = urlencode({"grant_type": "authorization_code", "code": code, "client_id": web_app.client_id})
    response = client.post("/oauth/token/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.security("S5")
def test_code_bound_to_a_challenge_needs_the_matching_verifier(user_client, web_app):
    code = obtain_code(user_client, web_app)
    assert redeem(Client(), web_app, code, code_verifier=None).json()["error"] == "invalid_grant"
    assert redeem(Client(), web_app, code, code_verifier="w" * 50).json()["error"] == "invalid_grant"


@pytest.mark.security("S6")
def test_code_is_bound_to_its_client_and_redirect_uri(user_client, web_app):
    code = obtain_code(user_client, web_app)
    other = WebApplicationFactory()
    assert redeem(Client(), other, code).json()["error"] == "invalid_grant"
    wrong_uri = redeem(Client(), web_app, code, redirect_uri=web_app.redirect_uri_list[0] + "x")
    assert wrong_uri.json()["error"] == "invalid_grant"


@pytest.mark.security("S10")
def test_access_token_is_a_short_lived_at_jwt(user_client, web_app):
    first = redeem(user_client, web_app, obtain_code(user_client, web_app, scope="read write")).json()
    header = jwt.get_unverified_header(first["access_token"])
    claims = jwt.decode(first["access_token"], options={"verify_signature": False})
    assert header["typ"] == "at+jwt"
    assert first["expires_in"] <= 600
    assert claims["exp"] - claims["iat"] <= 600
