"""Paths that end access tokens without the revocation endpoint (docs/SECURITY.md S26).

Each one must leave a row in RevokedAccessToken (the store of record that other processes read), so a
list that knows nothing but the table refuses the token: ``from_the_table`` builds such a list, as a
freshly started process would. RFC 7009, refresh reuse, code replay, consent withdrawal and client
deactivation/deletion have their own tests next to their code; through a second process they are all
in tests/concurrency/test_multiprocess.py.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from oauth_provider import audit
from oauth_provider.errors import InvalidToken
from oauth_provider.keys import rotate_signing_key
from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import AccessToken, AuditEvent, RefreshToken, RevokedAccessToken, SigningKey
from oauth_provider.resource.validator import get_validator
from oauth_provider.tokens.issue import issue_access_token, issue_refresh_token
from oauth_provider.tokens.revocation import RevocationList, revoke_access_tokens, user_deactivated
from tests.factories import ApplicationFactory, UserFactory
from tests.helpers.jwt import oauth_settings_with

pytestmark = pytest.mark.django_db

ACCESS_TOKENS = "/admin/oauth_provider/accesstoken/"


def from_the_table() -> RevocationList:
    """What another (or a restarted) process knows: only the database."""
    revocations = RevocationList(background=False)
    revocations.refresh()
    return revocations


def user_token(user, application=None):
    application = application or ApplicationFactory()
    refresh = issue_refresh_token(application=application, user=user, scope="read").record
    return issue_access_token(application=application, user=user, scope=["read"], grant_type="refresh_token",
                              refresh_token=refresh)


def deactivation_events():
    return list(AuditEvent.objects.filter(event=audit.USER_DEACTIVATED))


# --- user deactivation ----------------------------------------------------------------------------


@pytest.mark.security("S26")
def test_deactivating_a_user_revokes_their_tokens_and_records_one_event(django_capture_on_commit_callbacks,
                                                                         revocations):
    user, other = UserFactory(), UserFactory()
    mine, theirs = user_token(user), user_token(other)
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
    assert revocations.is_revoked(mine.record.jti)  # this process: at once
    table = from_the_table()
    assert table.is_revoked(mine.record.jti)
    assert not table.is_revoked(theirs.record.jti)
    assert RefreshToken.objects.get(user=user).revoked_at is not None
    assert RefreshToken.objects.get(user=other).revoked_at is None
    [event] = deactivation_events()
    assert (event.user, event.details) == (user, {"source": "model", "access_tokens_revoked": 1,
                                                  "refresh_tokens_revoked": 1})


def test_saving_an_inactive_user_again_revokes_and_audits_nothing_more():
    user = UserFactory()
    user_token(user)
    user.is_active = False
    user.save()
    later = user_token(user)  # e.g. issued meanwhile by a grant that does not check is_active
    user.save()
    user.save(update_fields=["is_active"])
    assert len(deactivation_events()) == 1
    assert not from_the_table().is_revoked(later.record.jti)


def test_a_save_that_does_not_write_is_active_does_not_deactivate():
    user = UserFactory()
    token = user_token(user)
    stale = get_user_model().objects.get(pk=user.pk)
    stale.is_active = False
    stale.save(update_fields=["last_login"])
    assert get_user_model().objects.get(pk=user.pk).is_active
    assert deactivation_events() == []
    assert not from_the_table().is_revoked(token.record.jti)


def test_reactivated_then_deactivated_again_is_a_new_deactivation():
    user = UserFactory()
    user.is_active = False
    user.save()
    user.is_active = True
    user.save()
    token = user_token(user)
    user.is_active = False
    user.save()
    assert len(deactivation_events()) == 2
    assert from_the_table().is_revoked(token.record.jti)


def test_creating_an_inactive_user_records_nothing():
    UserFactory(is_active=False)
    assert deactivation_events() == []


def test_concurrent_deactivations_are_claimed_once():
    user = UserFactory()
    user_token(user)
    first, second = get_user_model().objects.get(pk=user.pk), get_user_model().objects.get(pk=user.pk)
    assert user_deactivated(first, source="model") == (1, 1)
    assert user_deactivated(second, source="model") is None
    assert len(deactivation_events()) == 1


# --- deleting rows ----------------------------------------------------------------------------------


@pytest.mark.security("S26")
def test_deleting_a_user_revokes_their_tokens_before_the_rows_go():
    user = UserFactory()
    token = user_token(user)
    user.delete()
    assert not AccessToken.objects.filter(jti=token.record.jti).exists()
    assert from_the_table().is_revoked(token.record.jti)


@pytest.mark.security("S26")
def test_a_revoked_token_stays_revoked_when_its_row_is_deleted():
    token = user_token(UserFactory())
    revoke_access_tokens(AccessToken.objects.filter(pk=token.record.pk))
    AccessToken.objects.filter(pk=token.record.pk).delete()
    token.record.application.delete()
    assert from_the_table().is_revoked(token.record.jti)


@pytest.mark.security("S26")
def test_deleting_access_tokens_in_the_admin_revokes_them(admin_client):
    one, two, kept = (issue_access_token(application=ApplicationFactory(), scope=["read"],
                                         grant_type="client_credentials") for _ in range(3))
    response = admin_client.post(f"{ACCESS_TOKENS}{one.record.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    response = admin_client.post(ACCESS_TOKENS, {"action": "delete_selected", "post": "yes",
                                                 "_selected_action": [two.record.pk]})
    assert response.status_code == 302
    assert list(AccessToken.objects.values_list("jti", flat=True)) == [kept.record.jti]
    table = from_the_table()
    assert table.is_revoked(one.record.jti) and table.is_revoked(two.record.jti)
    assert not table.is_revoked(kept.record.jti)


# --- signing keys ---------------------------------------------------------------------------------


@pytest.mark.security("S26")
def test_deleting_a_signing_key_revokes_the_live_tokens_it_signed():
    application = ApplicationFactory()
    old = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
    old_kid = get_signing_key().kid
    assert old.record.kid == old_kid
    rotate_signing_key()
    new = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
    assert new.record.kid != old_kid
    SigningKey.objects.get(kid=old_kid).delete()
    # Here it fails both ways: revoked, and its key is gone from this process's key set.
    with pytest.raises(InvalidToken):
        get_validator().validate(old.token)
    get_validator().validate(new.token)
    without_revocation = oauth_settings_with(RESOURCE_CHECK_REVOCATION=False)
    with override_settings(OAUTH_PROVIDER=without_revocation), pytest.raises(InvalidToken) as refused:
        get_validator().validate(old.token)
    assert "revoked" not in refused.value.description
    table = from_the_table()
    assert table.is_revoked(old.record.jti)
    assert not table.is_revoked(new.record.jti)
    assert RevokedAccessToken.objects.count() == 1
