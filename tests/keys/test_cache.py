"""One cache of the SigningKey table: issuing, the JWKS, introspection/revocation and the resource validator
all read ``keys.key_cache``; ``keys.clear_cache()`` and the receivers reset it for all of them at once."""

import time

import jwt
import pytest
from django.test import override_settings

from oauth_provider import keys
from oauth_provider.errors import InvalidToken
from oauth_provider.models import KeyState, SigningKey
from oauth_provider.resource.validator import get_validator
from oauth_provider.tokens.issue import issue_access_token
from oauth_provider.tokens.lookup import verified_access_token_claims
from tests.factories import ApplicationFactory
from tests.helpers.jwt import FakeClock, claims, oauth_settings_with, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(keys.key_cache, "clock", fake)
    return fake


def issue(application=None):
    application = application or ApplicationFactory()
    return issue_access_token(application=application, scope=["read"], grant_type="client_credentials").token


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def introspection_sees(token: str) -> bool:
    return verified_access_token_claims(token) is not None


def resource_sees(token: str) -> bool:
    try:
        get_validator().validate(token)
    except InvalidToken:
        return False
    return True


def published_kids() -> set[str]:
    return {jwk["kid"] for jwk in keys.get_jwks()["keys"]}


def key_written_by_another_process(state: str) -> tuple[str, object]:
    """A key row written without this process's signals (bulk_create sends none)."""
    private_key, jwk = keys.store.generate_key_pair("RS256")
    jwk.update({"kid": keys.jwk_thumbprint(jwk), "alg": "RS256", "use": "sig"})
    SigningKey.objects.bulk_create([SigningKey(
        kid=jwk["kid"], algorithm="RS256", state=state, public_jwk=jwk,
        private_key_encrypted=keys.encrypt_private_key(private_key))])
    return jwk["kid"], private_key


def test_one_read_of_the_table_serves_issuing_the_jwks_introspection_and_the_resource_side(
        django_assert_num_queries):
    application = ApplicationFactory()
    old = issue(application)
    keys.clear_cache()
    with django_assert_num_queries(1):
        signing = keys.get_signing_key()
        assert signing.kid in published_kids()
        assert verified_access_token_claims(old)["jti"]
        assert get_validator().validate(old).jti


def test_warm_cache_costs_no_query_anywhere(django_assert_num_queries):
    token = issue()
    keys.get_jwks()
    with django_assert_num_queries(0):
        keys.get_signing_key()
        keys.get_jwks()
        assert introspection_sees(token)
        assert resource_sees(token)


def test_rotation_is_seen_by_issuing_introspection_and_the_resource_side(django_capture_on_commit_callbacks):
    before = issue()
    assert introspection_sees(before) and resource_sees(before)  # every reader has the old key cached
    with django_capture_on_commit_callbacks(execute=True):
        promotion = keys.rotate_signing_key()
    after = issue()
    assert kid_of(after) == promotion.active.kid != kid_of(before)
    assert {promotion.active.kid, promotion.retired.kid} <= published_kids()
    for token in (before, after):
        assert introspection_sees(token)
        assert resource_sees(token)


def test_a_retired_key_deleted_in_this_process_is_dropped_everywhere_at_once():
    application = ApplicationFactory()
    before = issue(application)
    assert introspection_sees(before) and resource_sees(before)
    keys.stage_next_key()
    keys.promote_next_key()
    keys.clear_cache()  # the promotion's on_commit clear is not run inside the test transaction
    after = issue(application)
    SigningKey.objects.filter(state=KeyState.RETIRED).delete()  # post_delete: the receiver clears the cache
    assert kid_of(before) not in published_kids()
    assert not introspection_sees(before)
    assert not resource_sees(before)
    assert introspection_sees(after) and resource_sees(after)


def test_a_key_deleted_by_another_process_is_dropped_everywhere_after_the_one_clear():
    before = issue()
    assert introspection_sees(before) and resource_sees(before)
    SigningKey.objects.filter(kid=kid_of(before))._raw_delete(SigningKey.objects.db)  # no signal
    assert introspection_sees(before) and resource_sees(before)  # still cached in this process
    keys.clear_cache()
    assert kid_of(before) not in published_kids()
    assert not introspection_sees(before)
    assert not resource_sees(before)
    assert kid_of(issue()) != kid_of(before)  # a new active key was created on first need


def test_a_key_rotated_by_another_process_is_seen_everywhere_after_the_one_clear():
    before = issue()
    assert introspection_sees(before) and resource_sees(before)
    SigningKey.objects.filter(kid=kid_of(before)).update(state=KeyState.RETIRED)  # no signal
    new_kid, _ = key_written_by_another_process(KeyState.ACTIVE)
    assert kid_of(issue()) == kid_of(before)  # this process still signs with its cached key
    keys.clear_cache()
    after = issue()
    assert kid_of(after) == new_kid
    assert new_kid in published_kids()
    for token in (before, after):
        assert introspection_sees(token)
        assert resource_sees(token)


def test_a_key_saved_in_this_process_is_seen_everywhere_at_once_through_the_receiver(clock):
    issue()
    assert resource_sees(sign(claims()))
    row = keys.create_signing_key("ES256", state=KeyState.NEXT)  # post_save: the receiver clears the cache
    private_key = keys.decrypt_private_key(row.private_key_encrypted)
    token = sign(claims(), private_key=private_key, kid=row.kid, algorithm="ES256")
    assert row.kid in published_kids()
    assert introspection_sees(token)
    assert resource_sees(token)


def test_a_settings_change_clears_the_key_cache_and_rebuilds_the_validator(django_assert_num_queries):
    token = issue()
    first = get_validator()
    assert resource_sees(token)
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_LEEWAY=5)):
        assert get_validator() is not first
        assert get_validator().leeway == 5
        with django_assert_num_queries(1):  # the receiver dropped the keys: they are read again, once
            assert resource_sees(token)
            assert introspection_sees(token)
    assert get_validator().leeway == 30


def test_the_encryption_keys_setting_drops_the_decrypted_signing_key(settings):
    keys.get_signing_key()
    other = {**settings.OAUTH_PROVIDER, "KEY_ENCRYPTION_KEYS": ["another-secret"]}
    with override_settings(OAUTH_PROVIDER=other), pytest.raises(keys.SigningKeyError, match="cannot decrypt"):
        keys.get_signing_key()  # not served from the cache decrypted under the old setting


# --- freshness and forged kids ------------------------------------------------------------------------


def test_a_key_another_process_created_is_found_by_introspection_on_its_unknown_kid_within_a_second(clock):
    issue()
    kid, private_key = key_written_by_another_process(KeyState.NEXT)
    token = sign(claims(), private_key=private_key, kid=kid, algorithm="RS256")
    clock.advance(0.5)
    assert not introspection_sees(token)  # the keys were read half a second ago
    clock.advance(0.6)
    assert introspection_sees(token)


def test_forged_kids_cost_introspection_at_most_one_query_a_second(clock, django_assert_max_num_queries):
    issue()
    clock.advance(2)
    with django_assert_max_num_queries(1):
        for number in range(50):
            assert not introspection_sees(sign(claims(), kid=f"forged-{number}"))


def test_a_forged_kid_on_one_side_does_not_let_the_other_side_reload_faster(clock, django_assert_max_num_queries):
    """The two sides share one last-load time: together they still cost at most one query per interval."""
    issue()
    clock.advance(31)
    with django_assert_max_num_queries(1):
        assert not introspection_sees(sign(claims(), kid="forged-a"))
        for number in range(20):
            assert not resource_sees(sign(claims(), kid=f"forged-{number}"))


def test_each_reader_accepts_a_snapshot_as_old_as_its_own_setting(clock, django_assert_num_queries):
    token = issue()
    clock.advance(61)  # older than SIGNING_KEY_CACHE_SECONDS, younger than RESOURCE_JWKS_CACHE_SECONDS
    with django_assert_num_queries(0):
        assert resource_sees(token)
    with django_assert_num_queries(1):
        assert introspection_sees(token)


def test_replacing_the_clock_clears_the_cache(django_assert_num_queries):
    keys.get_signing_key()
    keys.key_cache.clock = FakeClock()
    try:
        with django_assert_num_queries(1):
            keys.get_signing_key()
    finally:
        keys.key_cache.clock = time.monotonic
