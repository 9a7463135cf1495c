"""The per-process cache of verified access tokens (``resource.validator.VerifiedTokens``).

A token used many times is verified once; the cache never answers for another token, an expired
one, or one whose key is gone; revocation is checked on every request; the cache is bounded.
"""

import time

import pytest
from django.test import override_settings

from oauth_provider import jose
from oauth_provider.errors import InvalidToken
from oauth_provider.keys import store as keys
from oauth_provider.models import AccessToken, KeyState
from oauth_provider.resource.keysets import LocalKeySet, RemoteKeySet
from oauth_provider.resource.validator import TokenValidator, VerifiedTokens, get_validator
from oauth_provider.tokens.issue import issue_access_token
from oauth_provider.tokens.revocation import revoke_access_tokens
from tests.factories import ApplicationFactory, UserFactory
from tests.helpers.jwt import FakeClock, claims, key_pair, oauth_settings_with, sign, start_jwks_server, token

pytestmark = pytest.mark.django_db


@pytest.fixture
def verifications(monkeypatch):
    """How many times ``jose.verify`` really ran."""
    calls = []
    real = jose.verify

    def counting(*args, **kwargs):
        calls.append(args[0] if args else kwargs["token"])
        return real(*args, **kwargs)

    monkeypatch.setattr(jose, "verify", counting)
    return calls


@pytest.fixture
def revocation_on():
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_CHECK_REVOCATION=True)):
        yield get_validator()


def _validator(key_set, *, cache_size=16, clock=None):
    validator = TokenValidator(issuer="http://testserver", audience="http://testserver",
                               algorithms=["RS256", "ES256"], key_set=key_set, cache_size=cache_size)
    if clock is not None:
        validator.verified_tokens.clock = clock
    return validator


def test_a_token_used_many_times_is_verified_once(verifications):
    value = token(scope="read")
    infos = [get_validator().validate(value) for _ in range(5)]
    assert len(verifications) == 1
    assert {info.jti for info in infos} == {infos[0].jti}
    assert all(info.scopes == ("read",) for info in infos)


def test_the_cache_is_on_by_default_and_sized_by_the_setting():
    assert get_validator().verified_tokens.max_entries == 4096
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_TOKEN_CACHE_SIZE=3)):
        assert get_validator().verified_tokens.max_entries == 3


def test_size_zero_verifies_every_request(verifications):
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_TOKEN_CACHE_SIZE=0)):
        value = token()
        get_validator().validate(value)
        get_validator().validate(value)
    assert len(verifications) == 2


def test_entries_are_keyed_by_the_sha256_digest_not_the_token():
    value = token()
    get_validator().validate(value)
    entries = get_validator().verified_tokens._entries
    assert list(entries) == [VerifiedTokens.key(value)]
    assert all(isinstance(key, bytes) and len(key) == 32 for key in entries)
    assert value not in repr(entries)  # the bearer credential itself is not kept


def test_each_request_gets_its_own_token_info_and_user(django_assert_num_queries):
    user = UserFactory()
    application = ApplicationFactory()
    issued = issue_access_token(application=application, scope=["read"], grant_type="authorization_code", user=user)
    first = get_validator().validate(issued.token)
    assert first.user == user
    user.is_active = False
    user.save()
    second = get_validator().validate(issued.token)
    assert second is not first
    with django_assert_num_queries(1):  # loaded again for this request, not the first request's user
        assert not second.user.is_authenticated


@pytest.mark.parametrize("tamper", ["signature", "payload", "suffix"])
def test_a_token_that_differs_in_any_character_is_verified_on_its_own(tamper, verifications):
    value = token()
    get_validator().validate(value)
    head, body, signature = value.split(".")
    other = {
        "signature": f"{head}.{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        "payload": f"{head}.{body[:-1]}{'A' if body[-1] != 'A' else 'B'}.{signature}",
        "suffix": value + "A",
    }[tamper]
    with pytest.raises(InvalidToken):
        get_validator().validate(other)
    assert len(verifications) == 2
    get_validator().validate(value)
    assert len(verifications) == 2


def test_invalid_tokens_are_not_cached(verifications):
    now = int(time.time())
    expired = token(iat=now - 700, exp=now - 31)
    for _ in range(3):
        with pytest.raises(InvalidToken):
            get_validator().validate(expired)
    assert len(verifications) == 3
    assert len(get_validator().verified_tokens) == 0


def test_an_entry_is_not_used_from_the_tokens_exp_on(verifications):
    clock = FakeClock(start=time.time())
    validator = _validator(LocalKeySet(cache_seconds=300, min_refetch_seconds=30), clock=clock)
    value = token(exp=int(clock.now) + 60)
    validator.validate(value)
    clock.advance(59)
    validator.validate(value)
    assert len(verifications) == 1
    clock.advance(1)  # now == exp: the entry is over; jose.verify decides again
    validator.validate(value)  # still inside the leeway: accepted by verification, not cached
    assert len(verifications) == 2
    assert len(validator.verified_tokens) == 0


@pytest.mark.parametrize("change", ["clear_cache", "key_saved", "key_deleted"])
def test_a_change_of_the_key_set_drops_every_entry(change, verifications):
    row, private_key = key_pair("RS256", state=KeyState.RETIRED)
    value = sign(claims(), private_key=private_key, kid=row.kid, algorithm="RS256")
    get_validator().validate(value)
    assert len(get_validator().verified_tokens) == 1
    if change == "clear_cache":
        keys.clear_cache()
    elif change == "key_saved":
        keys.create_signing_key("ES256")
    else:
        row.delete()
    assert len(get_validator().verified_tokens) == 0
    if change == "key_deleted":
        with pytest.raises(InvalidToken, match="unknown key"):
            get_validator().validate(value)
    else:
        get_validator().validate(value)
        assert len(verifications) == 2


def test_a_key_another_process_deleted_ends_its_entries_when_the_keys_reload(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(keys.key_cache, "clock", clock)
    validator = _validator(LocalKeySet(cache_seconds=300, min_refetch_seconds=30))
    row, private_key = key_pair("RS256", state=KeyState.RETIRED)
    value = sign(claims(), private_key=private_key, kid=row.kid, algorithm="RS256")
    validator.validate(value)
    type(row).objects.filter(pk=row.pk)._raw_delete(type(row).objects.db)  # no signal: another process
    validator.validate(value)  # this process's keys are still fresh
    clock.advance(301)  # they reload: the key is gone, and so is the entry
    with pytest.raises(InvalidToken, match="unknown key"):
        validator.validate(value)


def test_a_remote_key_set_that_drops_the_key_ends_its_entries():
    server, httpd = start_jwks_server()
    try:
        clock = FakeClock()
        row, private_key = key_pair("RS256")
        server.publish(row, cache_control="max-age=60")
        validator = _validator(RemoteKeySet(f"{server.url}/jwks", cache_seconds=300, min_refetch_seconds=30,
                                            clock=clock))
        value = sign(claims(), private_key=private_key, kid=row.kid, algorithm="RS256")
        validator.validate(value)
        other, _ = key_pair("RS256")
        server.publish(other, cache_control="max-age=60")  # the remote server rotated the key out
        validator.validate(value)
        clock.advance(61)
        with pytest.raises(InvalidToken, match="unknown key"):
            validator.validate(value)
        assert server.fetches == 2
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_revocation_is_checked_on_every_request_of_a_cached_token(revocation_on, django_capture_on_commit_callbacks,
                                                                   verifications):
    application = ApplicationFactory()
    issued = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
    get_validator().validate(issued.token)
    with django_capture_on_commit_callbacks(execute=True):
        revoke_access_tokens(AccessToken.objects.filter(pk=issued.record.pk))
    with pytest.raises(InvalidToken, match="revoked"):
        get_validator().validate(issued.token)
    assert len(verifications) == 1  # the cached verification, then the revocation check refused it


def test_the_revocation_check_calls_is_jti_revoked_for_every_request(revocation_on, monkeypatch):
    from oauth_provider.resource import validator as validator_module

    asked = []
    monkeypatch.setattr(validator_module, "is_jti_revoked", lambda jti: asked.append(jti) or False)
    value = token()
    infos = [get_validator().validate(value) for _ in range(3)]
    assert asked == [infos[0].jti] * 3


def test_the_cache_is_bounded_and_drops_the_oldest_entry(verifications):
    validator = _validator(LocalKeySet(cache_seconds=300, min_refetch_seconds=30), cache_size=3)
    values = [token() for _ in range(4)]
    for value in values:
        validator.validate(value)
    assert len(validator.verified_tokens) == 3
    assert VerifiedTokens.key(values[0]) not in validator.verified_tokens._entries
    validator.validate(values[3])
    assert len(verifications) == 4
    validator.validate(values[0])  # evicted: verified again
    assert len(verifications) == 5
    assert len(validator.verified_tokens) == 3


def test_the_protected_path_makes_no_query_with_revocation_on(revocation_on, django_assert_num_queries):
    value = token()
    get_validator().validate(value)  # warms the keys
    with django_assert_num_queries(0):
        for _ in range(3):
            get_validator().validate(value)


@pytest.mark.parametrize("value", [None, b"a.b.c", 42, "é" + "a.b.c", "\udcff.a.b", "a" * 9000])
def test_what_is_not_a_token_is_refused_as_before_and_never_hashed_or_cached(value, monkeypatch):
    hashed = []
    monkeypatch.setattr(VerifiedTokens, "key", staticmethod(lambda token: hashed.append(token) or b""))
    with pytest.raises(InvalidToken):
        get_validator().validate(value)
    assert hashed == []
    assert len(get_validator().verified_tokens) == 0
