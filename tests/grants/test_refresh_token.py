"""The refresh_token grant: rotation, reuse detection, scope narrowing and lifetimes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.crypto import digest
from oauth_provider.models import AccessToken, AuditEvent, RefreshToken
from oauth_provider.tokens.revocation import revoke_refresh_family
from tests.factories import WebApplicationFactory
from tests.helpers.flows import obtain_code, redeem, token_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens(user_client, web_app):
    return redeem(user_client, web_app, obtain_code(user_client, web_app, scope="read write")).json()


def refresh(client, app, token, **extra):
    return token_request(client, app, {"grant_type": "refresh_token", "refresh_token": token, **extra})


def test_refresh_returns_new_access_and_refresh_token(client, web_app, tokens):
    response = refresh(client, web_app, tokens["refresh_token"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    assert body["scope"] == "read write"
    assert response["Cache-Control"] == "no-store"


def test_rotated_token_joins_the_family_with_its_parent(client, web_app, tokens):
    body = refresh(client, web_app, tokens["refresh_token"]).json()
    old = RefreshToken.objects.get(token_digest=digest(tokens["refresh_token"]))
    new = RefreshToken.objects.get(token_digest=digest(body["refresh_token"]))
    assert old.used_at is not None
    assert new.family_id == old.family_id
    assert new.parent == old
    assert new.family_expires_at == old.family_expires_at


def test_refresh_token_is_stored_only_as_digest(tokens):
    assert not RefreshToken.objects.filter(token_digest=tokens["refresh_token"]).exists()


def test_rotation_is_audited(client, web_app, tokens):
    refresh(client, web_app, tokens["refresh_token"])
    assert AuditEvent.objects.filter(event=audit.REFRESH_TOKEN_ROTATED).count() == 1


@pytest.mark.security("S10")
def test_reused_refresh_token_is_invalid_grant(client, web_app, tokens):
    refresh(client, web_app, tokens["refresh_token"])
    response = refresh(client, web_app, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.security("S10")
def test_reused_refresh_token_revokes_the_whole_family(client, web_app, tokens):
    newest = refresh(client, web_app, tokens["refresh_token"]).json()
    assert refresh(client, web_app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()
    assert not AccessToken.objects.filter(revoked_at__isnull=True).exists()
    assert refresh(client, web_app, newest["refresh_token"]).json()["error"] == "invalid_grant"


def test_reuse_is_audited(client, web_app, tokens):
    refresh(client, web_app, tokens["refresh_token"])
    refresh(client, web_app, tokens["refresh_token"])
    assert AuditEvent.objects.filter(event=audit.REFRESH_TOKEN_REUSED).count() == 1


def test_reuse_leaves_other_families_alone(user_client, client, web_app, tokens):
    other = redeem(user_client, web_app, obtain_code(user_client, web_app)).json()
    refresh(client, web_app, tokens["refresh_token"])
    refresh(client, web_app, tokens["refresh_token"])
    assert refresh(client, web_app, other["refresh_token"]).status_code == 200


def test_refresh_may_narrow_scope(client, web_app, tokens):
    body = refresh(client, web_app, tokens["refresh_token"], scope="read").json()
    assert body["scope"] == "read"
    # The new refresh token keeps the original grant (RFC 6749 §6).
    assert refresh(client, web_app, body["refresh_token"]).json()["scope"] == "read write"


@pytest.mark.security("S10")
def test_refresh_cannot_widen_scope(client, web_app, user_client):
    narrow = redeem(user_client, web_app, obtain_code(user_client, web_app, scope="read")).json()
    response = refresh(client, web_app, narrow["refresh_token"], scope="read write")
    assert response.json()["error"] == "invalid_scope"


def test_refused_widening_does_not_use_up_the_token(client, web_app, tokens):
    refresh(client, web_app, tokens["refresh_token"], scope="read write admin")
    assert refresh(client, web_app, tokens["refresh_token"]).status_code == 200


@pytest.mark.security("S10")
def test_idle_expired_refresh_token_is_invalid_grant(client, web_app, tokens):
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert refresh(client, web_app, tokens["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.security("S10")
def test_family_past_its_absolute_lifetime_is_invalid_grant(client, web_app, tokens):
    RefreshToken.objects.update(family_expires_at=timezone.now() - timedelta(seconds=1))
    assert refresh(client, web_app, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_rotation_never_extends_past_the_absolute_lifetime(client, web_app, tokens):
    soon = timezone.now() + timedelta(hours=1)
    RefreshToken.objects.update(family_expires_at=soon)
    body = refresh(client, web_app, tokens["refresh_token"]).json()
    assert RefreshToken.objects.get(token_digest=digest(body["refresh_token"])).expires_at == soon


def test_lifetimes_come_from_settings(user_client, web_app, settings):
    settings.OAUTH_PROVIDER = {
        **settings.OAUTH_PROVIDER,
        "REFRESH_TOKEN_IDLE_LIFETIME": 3600,
        "REFRESH_TOKEN_ABSOLUTE_LIFETIME": 7200,
    }
    redeem(user_client, web_app, obtain_code(user_client, web_app))
    token = RefreshToken.objects.get()
    assert round((token.expires_at - token.created_at).total_seconds()) == 3600
    assert round((token.family_expires_at - token.created_at).total_seconds()) == 7200


def test_revoked_refresh_token_is_invalid_grant(client, web_app, tokens):
    RefreshToken.objects.update(revoked_at=timezone.now())
    assert refresh(client, web_app, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_token_of_another_client_is_invalid_grant(client, tokens):
    other = WebApplicationFactory()
    assert refresh(client, other, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_inactive_client_cannot_refresh(client, web_app, tokens):
    web_app.is_active = False
    web_app.save()
    assert refresh(client, web_app, tokens["refresh_token"]).json()["error"] == "invalid_client"


def test_client_that_lost_the_grant_cannot_refresh(client, web_app, tokens):
    web_app.grant_types = ["authorization_code"]
    web_app.save()
    assert refresh(client, web_app, tokens["refresh_token"]).json()["error"] == "unauthorized_client"


def test_unknown_refresh_token_is_invalid_grant(client, web_app):
    assert refresh(client, web_app, "nope").json()["error"] == "invalid_grant"


def test_deactivated_user_cannot_refresh(client, web_app, tokens, user):
    user.is_active = False
    user.save()
    assert refresh(client, web_app, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_public_client_refreshes_without_secret(user_client, client, public_app):
    body = redeem(user_client, public_app, obtain_code(user_client, public_app)).json()
    assert refresh(client, public_app, body["refresh_token"]).status_code == 200


def test_rotation_query_count(client, web_app, tokens, django_assert_num_queries):
    # application; refresh token (+user); mark it used; insert the rotated token; insert access; audit
    with django_assert_num_queries(6):
        response = refresh(client, web_app, tokens["refresh_token"])
    assert response.status_code == 200


@pytest.mark.security("S10")
def test_refresh_tokens_rotate_on_every_use(client, web_app, tokens):
    second = refresh(client, web_app, tokens["refresh_token"]).json()
    assert second["refresh_token"] != tokens["refresh_token"]
    assert refresh(client, web_app, second["refresh_token"]).status_code == 200


@pytest.mark.security("S10")
def test_no_grace_window_accepts_a_family_revoked_on_purpose(client, web_app, tokens):
    revoke_refresh_family(RefreshToken.objects.get().family_id)
    assert refresh(client, web_app, tokens["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.security("S10")
def test_a_narrowed_refresh_token_can_never_widen_the_scope_again(client, web_app, tokens):
    narrowed = refresh(client, web_app, tokens["refresh_token"], scope="read").json()
    assert narrowed["scope"] == "read"
    wider = refresh(client, web_app, narrowed["refresh_token"], scope="read write admin")
    assert wider.json()["error"] == "invalid_scope"
