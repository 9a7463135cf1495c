"""SECURITY.md, "Tokens" (items 10-13)."""

from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from django.test import Client
from django.utils import timezone

from oauth_provider.models import AccessToken, RefreshToken
from oauth_provider.tokens.revocation import is_jti_revoked, revoke_refresh_family
from tests.factories import ApplicationFactory
from tests.helpers.flows import FORM, obtain_code, post_as, redeem, token_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def first(user_client, web_app):
    return redeem(Client(), web_app, obtain_code(user_client, web_app, scope="read write")).json()


def refresh(app, refresh_token, **extra):
    return token_request(Client(), app, {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra})


def test_item_10_access_tokens_are_short_lived_at_jwt_typed_tokens(web_app, first):
    header = jwt.get_unverified_header(first["access_token"])
    claims = jwt.decode(first["access_token"], options={"verify_signature": False})
    assert header["typ"] == "at+jwt"
    assert first["expires_in"] <= 600
    assert claims["exp"] - claims["iat"] <= 600


def test_item_10_refresh_tokens_rotate_on_every_use(web_app, first):
    second = refresh(web_app, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert refresh(web_app, second["refresh_token"]).status_code == 200


def test_item_10_a_reused_refresh_token_revokes_its_whole_family(web_app, first):
    second = refresh(web_app, first["refresh_token"]).json()
    assert refresh(web_app, first["refresh_token"]).json()["error"] == "invalid_grant"
    assert RefreshToken.objects.filter(revoked_at__isnull=True).count() == 0
    assert AccessToken.objects.filter(revoked_at__isnull=True).count() == 0
    assert refresh(web_app, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_item_10_no_grace_window_accepts_a_revoked_refresh_token(web_app, first):
    revoke_refresh_family(RefreshToken.objects.get().family_id)
    assert refresh(web_app, first["refresh_token"]).json()["error"] == "invalid_grant"


def test_item_10_a_refresh_may_narrow_scope_never_widen_it(web_app, first):
    narrowed = refresh(web_app, first["refresh_token"], scope="read").json()
    assert narrowed["scope"] == "read"
    wider = refresh(web_app, narrowed["refresh_token"], scope="read write admin")
    assert wider.json()["error"] == "invalid_scope"


def test_item_10_idle_lifetime_is_enforced_when_presented(web_app, first):
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert refresh(web_app, first["refresh_token"]).json()["error"] == "invalid_grant"


def test_item_10_absolute_lifetime_is_enforced_when_presented(web_app, first):
    RefreshToken.objects.update(family_expires_at=timezone.now() - timedelta(seconds=1))
    assert refresh(web_app, first["refresh_token"]).json()["error"] == "invalid_grant"


def test_item_11_revoking_a_refresh_token_family_revokes_its_access_tokens(
    web_app, first, django_capture_on_commit_callbacks
):
    jti = AccessToken.objects.get().jti
    with django_capture_on_commit_callbacks(execute=True):
        revoke_refresh_family(RefreshToken.objects.get().family_id)
    assert AccessToken.objects.get().revoked_at is not None
    assert is_jti_revoked(jti)


def test_item_13_token_responses_carry_no_store(client, application):
    response = token_request(client, application, {"grant_type": "client_credentials"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_item_13_errors_use_rfc6749_section_5_2_json(client, application):
    response = token_request(client, application, {"grant_type": "nope"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json()["error"] == "unsupported_grant_type"
    assert set(response.json()) <= {"error", "error_description", "error_uri"}


# --- item 11: revocation (RFC 7009) ---------------------------------------------------------------


def revoke(app, token, hint=None):
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return post_as(Client(), "/oauth/revoke/", app, data)


def introspect(caller, token):
    return post_as(Client(), "/oauth/introspect/", caller, {"token": token})


def test_item_11_revoking_a_refresh_token_at_the_endpoint_revokes_its_access_tokens(
    web_app, first, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert revoke(web_app, first["refresh_token"], "refresh_token").status_code == 200
    jti = jwt.decode(first["access_token"], options={"verify_signature": False})["jti"]
    assert AccessToken.objects.get(jti=jti).revoked_at is not None
    assert is_jti_revoked(jti)
    assert refresh(web_app, first["refresh_token"]).json()["error"] == "invalid_grant"


def test_item_11_revoking_another_clients_token_does_nothing_and_reveals_nothing(web_app, first):
    other = ApplicationFactory()
    unknown = revoke(other, "no-such-token")
    response = revoke(other, first["refresh_token"])
    assert (response.status_code, response.content) == (unknown.status_code, unknown.content) == (200, b"")
    assert not RefreshToken.objects.filter(revoked_at__isnull=False).exists()
    assert refresh(web_app, first["refresh_token"]).status_code == 200


# --- item 12: introspection (RFC 7662) ------------------------------------------------------------


def test_item_12_introspection_requires_client_authentication(first):
    response = Client().post("/oauth/introspect/", urlencode({"token": first["access_token"]}), content_type=FORM)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_item_12_the_owner_sees_its_live_token_active(web_app, first):
    assert introspect(web_app, first["access_token"]).json()["active"] is True


@pytest.mark.parametrize("case", ["unknown", "expired", "revoked", "not_the_callers"])
def test_item_12_anything_unknown_expired_revoked_or_not_the_callers_is_inactive(web_app, first, case):
    token, caller = first["access_token"], web_app
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    if case == "unknown":
        token = "not-a-token"
    elif case == "expired":
        AccessToken.objects.filter(jti=jti).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "revoked":
        revoke(web_app, token)
    else:
        caller = ApplicationFactory()
    assert introspect(caller, token).json() == {"active": False}
