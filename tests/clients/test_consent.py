"""Revoking a remembered consent revokes the tokens the user gave that client, and nothing else."""

import pytest

from oauth_provider import audit
from oauth_provider.clients.consent import revoke_consent
from oauth_provider.models import AccessToken, AuditEvent, Consent, RefreshToken
from oauth_provider.tokens.issue import issue_access_token, issue_refresh_token
from oauth_provider.tokens.revocation import is_jti_revoked
from tests.factories import UserFactory, WebApplicationFactory

pytestmark = pytest.mark.django_db


def family(application, user, rotations=1):
    """A refresh family (rotated ``rotations`` times) with an access token issued from each member."""
    tokens = [issue_refresh_token(application=application, user=user, scope="read").record]
    for _ in range(rotations):
        tokens.append(issue_refresh_token(application=application, user=user, scope="read", parent=tokens[-1]).record)
    access = [issue_access_token(application=application, user=user, scope=["read"], grant_type="refresh_token",
                                 refresh_token=token).record for token in tokens]
    return tokens, access


def test_revoking_a_consent_revokes_every_family_and_access_token_of_that_user_and_client(
        django_capture_on_commit_callbacks):
    user, application = UserFactory(), WebApplicationFactory()
    consent = Consent.objects.create(user=user, application=application, scope="read")
    families = [family(application, user), family(application, user, rotations=2)]
    direct = issue_access_token(application=application, user=user, scope=["read"], grant_type="authorization_code")
    with django_capture_on_commit_callbacks(execute=True):
        assert revoke_consent(user, consent.pk)
    assert not Consent.objects.exists()
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()
    assert not AccessToken.objects.filter(revoked_at__isnull=True).exists()
    for jti in [a.jti for _, access in families for a in access] + [direct.record.jti]:
        assert is_jti_revoked(jti)
    event = AuditEvent.objects.get(event=audit.CONSENT_REVOKED)
    assert (event.user, event.application) == (user, application)


def test_revoking_a_consent_leaves_other_users_and_other_clients_tokens_alone():
    user, other_user = UserFactory(), UserFactory()
    application, other_client = WebApplicationFactory(), WebApplicationFactory()
    consent = Consent.objects.create(user=user, application=application, scope="read")
    kept = [family(application, other_user), family(other_client, user)]
    family(application, user)
    assert revoke_consent(user, consent.pk)
    for refresh, access in kept:
        assert all(token.revoked_at is None for token in RefreshToken.objects.filter(pk__in=[r.pk for r in refresh]))
        assert all(token.revoked_at is None for token in AccessToken.objects.filter(pk__in=[a.pk for a in access]))


def test_another_users_consent_is_neither_revoked_nor_are_its_tokens():
    owner, attacker, application = UserFactory(), UserFactory(), WebApplicationFactory()
    consent = Consent.objects.create(user=owner, application=application, scope="read")
    family(application, owner)
    assert revoke_consent(attacker, consent.pk) is False
    assert Consent.objects.filter(pk=consent.pk).exists()
    assert not RefreshToken.objects.filter(revoked_at__isnull=False).exists()
    assert not AccessToken.objects.filter(revoked_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(event=audit.CONSENT_REVOKED).exists()
