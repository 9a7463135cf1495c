"""Signing-key rotation: staging, promotion, retirement, deletion, and tokens that keep verifying."""

from datetime import timedelta
from io import StringIO

import jwt
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.keys.rotation import (
    delete_expired_retired_keys,
    promote_next_key,
    retired_key_horizon,
    rotate_signing_key,
    stage_next_key,
)
from oauth_provider.keys.store import get_jwks, get_signing_key
from oauth_provider.models import AuditEvent, KeyState, SigningKey
from tests.factories import ApplicationFactory
from tests.helpers.live import metadata, verify

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("oauth_rotate_signing_keys", *args, stdout=out)
    return out.getvalue()


def published_kids() -> set[str]:
    return {key["kid"] for key in get_jwks()["keys"]}


def test_stage_creates_a_published_key_that_does_not_sign():
    active = get_signing_key()
    key, created = stage_next_key()
    assert created and key.state == KeyState.NEXT
    assert key.kid in published_kids()
    assert get_signing_key().kid == active.kid


def test_stage_is_idempotent():
    first, _ = stage_next_key()
    second, created = stage_next_key()
    assert not created and second.pk == first.pk
    assert SigningKey.objects.filter(state=KeyState.NEXT).count() == 1


def test_promote_activates_the_staged_key_and_retires_the_old_one():
    old = get_signing_key()
    staged, _ = stage_next_key()
    promotion = promote_next_key()
    assert promotion.active.kid == staged.kid and promotion.active.state == KeyState.ACTIVE
    assert promotion.retired.kid == old.kid and promotion.retired.state == KeyState.RETIRED
    assert promotion.retired.retired_at is not None


def test_promote_without_a_staged_key_changes_nothing():
    active = get_signing_key()
    assert promote_next_key() is None
    assert SigningKey.objects.get(state=KeyState.ACTIVE).kid == active.kid


def test_this_process_signs_with_the_new_key_right_after_promotion(django_capture_on_commit_callbacks):
    get_signing_key()
    with django_capture_on_commit_callbacks(execute=True):
        promotion = rotate_signing_key()
    assert get_signing_key().kid == promotion.active.kid


def test_retired_key_stays_published():
    promotion = rotate_signing_key()
    assert {promotion.active.kid, promotion.retired.kid} <= published_kids()


def test_rotation_is_audited():
    rotate_signing_key()
    event = AuditEvent.objects.get(event=audit.SIGNING_KEY_ROTATED)
    assert set(event.details) == {"kid", "retired_kid", "algorithm", "source"}


def test_retired_key_is_kept_until_its_tokens_can_have_expired():
    promotion = rotate_signing_key()
    SigningKey.objects.filter(pk=promotion.retired.pk).update(
        retired_at=timezone.now() - retired_key_horizon() + timedelta(seconds=5)
    )
    assert delete_expired_retired_keys() == []
    assert SigningKey.objects.filter(pk=promotion.retired.pk).exists()


def test_retired_key_past_the_horizon_is_deleted_and_audited():
    promotion = rotate_signing_key()
    SigningKey.objects.filter(pk=promotion.retired.pk).update(
        retired_at=timezone.now() - retired_key_horizon() - timedelta(seconds=1)
    )
    assert delete_expired_retired_keys() == [promotion.retired.kid]
    assert not SigningKey.objects.filter(pk=promotion.retired.pk).exists()
    assert AuditEvent.objects.filter(event=audit.SIGNING_KEY_DELETED).count() == 1


def test_horizon_covers_the_longest_client_lifetime_override(settings):
    ApplicationFactory(access_token_lifetime=7200)
    # cache 60 + 7200 + margin 300
    assert retired_key_horizon() == timedelta(seconds=60 + 7200 + 300)


def test_active_and_next_keys_are_never_deleted():
    stage_next_key()
    SigningKey.objects.update(created_at=timezone.now() - timedelta(days=365))
    assert delete_expired_retired_keys() == []
    assert SigningKey.objects.count() == 2


def test_command_rotates_in_one_step():
    old = get_signing_key()
    output = run()
    active = SigningKey.objects.get(state=KeyState.ACTIVE)
    assert active.kid != old.kid
    assert SigningKey.objects.get(kid=old.kid).state == KeyState.RETIRED
    assert active.kid in output


def test_command_stage_then_promote():
    old = get_signing_key()
    assert "Staged" in run("--stage")
    assert "Already staged" in run("--stage")
    staged = SigningKey.objects.get(state=KeyState.NEXT)
    run("--promote")
    assert SigningKey.objects.get(state=KeyState.ACTIVE).kid == staged.kid
    assert SigningKey.objects.get(kid=old.kid).state == KeyState.RETIRED


def test_command_promote_without_stage_says_so():
    get_signing_key()
    assert "No staged" in run("--promote")


def test_command_if_older_than_skips_a_young_key():
    old = get_signing_key()
    assert "nothing to do" in run("--if-older-than", "30")
    assert SigningKey.objects.get(state=KeyState.ACTIVE).kid == old.kid


def test_command_if_older_than_rotates_an_old_key():
    old = get_signing_key()
    SigningKey.objects.update(activated_at=timezone.now() - timedelta(days=31))
    run("--if-older-than", "30")
    assert SigningKey.objects.get(state=KeyState.ACTIVE).kid != old.kid


def test_command_rotates_another_algorithm():
    run("--algorithm", "ES256")
    assert SigningKey.objects.get(state=KeyState.ACTIVE, algorithm="ES256")


@pytest.mark.django_db(transaction=True)
def test_tokens_from_before_and_after_rotation_verify_with_pyjwkclient(live_server, settings):
    service = ApplicationFactory()
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "ISSUER": live_server.url}):
        from authlib.integrations.requests_client import OAuth2Session

        token_endpoint = metadata(live_server.url)["token_endpoint"]
        with OAuth2Session(service.client_id, service.secret, scope="read") as session:
            before = session.fetch_token(token_endpoint, grant_type="client_credentials")["access_token"]
            promotion = rotate_signing_key()
            after = session.fetch_token(token_endpoint, grant_type="client_credentials")["access_token"]
        assert jwt.get_unverified_header(before)["kid"] == promotion.retired.kid
        assert jwt.get_unverified_header(after)["kid"] == promotion.active.kid
        jwks_client = jwt.PyJWKClient(metadata(live_server.url)["jwks_uri"])
        for token in (before, after):
            key = jwks_client.get_signing_key_from_jwt(token).key
            claims = jwt.decode(token, key, algorithms=["RS256"], audience=live_server.url, issuer=live_server.url)
            assert claims["client_id"] == service.client_id
        assert verify(live_server.url, before)["client_id"] == service.client_id


def test_the_resource_side_validator_accepts_tokens_of_the_old_and_the_new_key_after_rotation():
    from oauth_provider.errors import InvalidToken
    from oauth_provider.resource.validator import get_validator
    from oauth_provider.tokens.issue import issue_access_token

    application = ApplicationFactory()
    validator = get_validator()
    before = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
    assert validator.validate(before.token).jti == before.record.jti  # the validator now caches the old key
    rotate_signing_key()
    after = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
    assert jwt.get_unverified_header(after.token)["kid"] != jwt.get_unverified_header(before.token)["kid"]
    # The key change resets this process's key set (other processes reload on the unknown kid).
    assert get_validator().validate(after.token).jti == after.record.jti
    assert get_validator().validate(before.token).jti == before.record.jti
    # Once the retired key is deleted, its tokens stop verifying.
    SigningKey.objects.filter(state=KeyState.RETIRED).delete()
    with pytest.raises(InvalidToken):
        get_validator().validate(before.token)
