"""Remote JWKS mode against a JWK Set served on 127.0.0.1 (docs/SECURITY.md S17). Time is a fake clock."""

import threading

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from oauth_provider.errors import InvalidToken
from oauth_provider.resource.keysets import KeySetUnavailable, RemoteKeySet, max_age
from oauth_provider.resource.validator import TokenValidator, get_validator
from tests.helpers.jwt import FakeClock, claims, key_pair, oauth_settings_with, sign, start_jwks_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def jwks_server():
    server, httpd = start_jwks_server()
    yield server
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def remote(jwks_server, clock):
    """A validator trusting only ``{server}/jwks``: cache 300 s, refetch at most every 30 s."""
    key_set = RemoteKeySet(f"{jwks_server.url}/jwks", cache_seconds=300, min_refetch_seconds=30, clock=clock)
    return TokenValidator(
        issuer="http://testserver", audience="http://testserver", algorithms=["RS256", "ES256"],
        key_set=key_set,
    )


@pytest.fixture
def signer():
    row, private_key = key_pair("RS256")

    def make(**overrides):
        return sign(claims(**overrides), private_key=private_key, kid=row.kid, algorithm="RS256")

    return row, make


def test_token_verifies_with_a_key_from_the_remote_jwks(jwks_server, remote, signer):
    row, make = signer
    jwks_server.publish(row)
    info = remote.validate(make(scope="read"))
    assert info.scopes == ("read",)
    assert jwks_server.fetches == 1


def test_second_validation_makes_no_fetch(jwks_server, remote, signer):
    row, make = signer
    jwks_server.publish(row)
    remote.validate(make())
    remote.validate(make())
    assert jwks_server.fetches == 1


def test_cache_control_max_age_is_honoured(jwks_server, remote, signer, clock):
    row, make = signer
    jwks_server.publish(row, cache_control="public, max-age=100")
    remote.validate(make())
    clock.advance(99)
    remote.validate(make())
    assert jwks_server.fetches == 1
    clock.advance(2)
    remote.validate(make())
    assert jwks_server.fetches == 2


def test_without_max_age_the_configured_lifetime_applies(jwks_server, remote, signer, clock):
    row, make = signer
    jwks_server.publish(row)
    remote.validate(make())
    clock.advance(299)
    remote.validate(make())
    assert jwks_server.fetches == 1
    clock.advance(2)
    remote.validate(make())
    assert jwks_server.fetches == 2


def test_no_store_is_kept_only_for_the_refetch_interval(jwks_server, remote, signer, clock):
    row, make = signer
    jwks_server.publish(row, cache_control="no-store")
    remote.validate(make())
    clock.advance(10)
    remote.validate(make())
    assert jwks_server.fetches == 1
    clock.advance(21)
    remote.validate(make())
    assert jwks_server.fetches == 2


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("max-age=60", 60), ("public, max-age=300", 300), ('max-age="5"', 5), ("no-cache", 0), ("public", None),
     (None, None), ("s-maxage=10", None)],
)
def test_max_age_parsing(header, seconds):
    assert max_age(header) == seconds


def test_new_kid_after_the_refetch_interval_causes_one_fetch(jwks_server, remote, signer, clock):
    row, make = signer
    jwks_server.publish(row)
    remote.validate(make())
    new_row, new_private = key_pair("ES256")
    jwks_server.publish(row, new_row)
    clock.advance(31)
    remote.validate(sign(claims(), private_key=new_private, kid=new_row.kid, algorithm="ES256"))
    assert jwks_server.fetches == 2


def test_new_kid_within_the_refetch_interval_is_rejected_without_fetch(jwks_server, remote, signer, clock):
    row, make = signer
    jwks_server.publish(row)
    remote.validate(make())
    new_row, new_private = key_pair("ES256")
    jwks_server.publish(row, new_row)
    clock.advance(5)
    new_token = sign(claims(), private_key=new_private, kid=new_row.kid, algorithm="ES256")
    with pytest.raises(InvalidToken):
        remote.validate(new_token)
    assert jwks_server.fetches == 1
    clock.advance(30)
    remote.validate(new_token)
    assert jwks_server.fetches == 2


@pytest.mark.security("S17")
def test_fifty_forged_kids_cause_at_most_one_fetch_per_interval(jwks_server, remote, signer, clock):
    row, make = signer
    jwks_server.publish(row)
    remote.validate(make())
    clock.advance(31)
    for number in range(50):
        with pytest.raises(InvalidToken):
            remote.validate(sign(claims(), kid=f"forged-{number}"))
    assert jwks_server.fetches == 2  # the warm-up and one refetch


def test_concurrent_requests_with_a_new_kid_cause_one_fetch(jwks_server, remote, signer, clock):
    row, make = signer
    jwks_server.publish(row)
    remote.validate(make())
    new_row, new_private = key_pair("ES256")
    jwks_server.publish(row, new_row)
    clock.advance(31)
    new_token = sign(claims(), private_key=new_private, kid=new_row.kid, algorithm="ES256")
    results = []

    def validate():
        results.append(remote.validate(new_token).client_id)

    threads = [threading.Thread(target=validate) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["client-1"] * 20
    assert jwks_server.fetches == 2


@pytest.mark.security("S17")
def test_only_the_configured_url_is_fetched(jwks_server, remote, signer, clock):
    row, make = signer
    jwks_server.publish(row)
    remote.validate(make())
    clock.advance(31)
    with pytest.raises(InvalidToken):
        remote.validate(sign(claims(), kid="forged", jku=f"{jwks_server.url}/other"))
    assert set(jwks_server.requests) == {"/jwks"}


@pytest.mark.security("S17")
def test_redirects_are_not_followed(jwks_server, clock, signer):
    row, _ = signer
    jwks_server.publish(row, path="/elsewhere")
    jwks_server.serve("/jwks", {}, status=302, Location=f"{jwks_server.url}/elsewhere")
    key_set = RemoteKeySet(f"{jwks_server.url}/jwks", cache_seconds=300, min_refetch_seconds=30, clock=clock)
    with pytest.raises(KeySetUnavailable):
        key_set.get(row.kid)
    assert jwks_server.requests == ["/jwks"]


def test_unreachable_jwks_answers_temporarily_unavailable(jwks_server, remote, signer):
    _, make = signer
    with pytest.raises(KeySetUnavailable) as excinfo:
        remote.validate(make())  # nothing served at /jwks: 404
    assert excinfo.value.status_code == 503


def test_keys_are_kept_when_a_refetch_fails(jwks_server, remote, signer, clock):
    row, make = signer
    jwks_server.publish(row)
    remote.validate(make())
    jwks_server.serve("/jwks", b"not json")
    clock.advance(301)
    remote.validate(make())
    assert jwks_server.fetches == 2


def test_keys_without_kid_or_for_encryption_are_ignored(jwks_server, remote, signer):
    row, make = signer
    no_kid = {name: value for name, value in row.public_jwk.items() if name != "kid"}
    encryption = {**row.public_jwk, "use": "enc"}
    jwks_server.serve("/jwks", {"keys": [no_kid, encryption, {"kty": "unknown", "kid": "x"}]})
    with pytest.raises(InvalidToken):
        remote.validate(make())


@pytest.mark.parametrize(
    "url", ["http://as.example/jwks", "ftp://127.0.0.1/jwks", "file:///etc/passwd", "jwks"]
)
def test_jwks_url_must_be_https_or_loopback_http(url):
    with pytest.raises(ImproperlyConfigured):
        RemoteKeySet(url, cache_seconds=300, min_refetch_seconds=30)


def test_settings_select_the_remote_jwks(jwks_server, signer):
    row, make = signer
    jwks_server.publish(row)
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_JWKS_URL=f"{jwks_server.url}/jwks")):
        assert isinstance(get_validator().key_set, RemoteKeySet)
        get_validator().validate(make())
    assert jwks_server.fetches == 1


def test_remote_mode_makes_no_database_query(jwks_server, signer, django_assert_num_queries):
    row, make = signer
    jwks_server.publish(row)
    tokens = [make() for _ in range(3)]
    remote_settings = oauth_settings_with(RESOURCE_JWKS_URL=f"{jwks_server.url}/jwks")
    with override_settings(OAUTH_PROVIDER=remote_settings), django_assert_num_queries(0):
        for value in tokens:
            get_validator().validate(value)


@pytest.mark.security("S17")
def test_remote_keys_are_cached_refetched_at_a_bounded_rate_and_only_from_the_configured_url():
    server, httpd = start_jwks_server()
    try:
        row, private_key = key_pair("RS256")
        server.publish(row)
        clock = FakeClock()
        validator = TokenValidator(
            issuer="http://testserver", audience="http://testserver", algorithms=["RS256"],
            key_set=RemoteKeySet(f"{server.url}/jwks", cache_seconds=300, min_refetch_seconds=30, clock=clock),
        )
        good = sign(claims(), private_key=private_key, kid=row.kid, algorithm="RS256")
        validator.validate(good)
        validator.validate(good)
        assert server.fetches == 1
        for n in range(20):
            with pytest.raises(InvalidToken):
                validator.validate(sign(claims(), private_key=private_key, kid=f"forged-{n}", algorithm="RS256",
                                        jku=f"{server.url}/other"))
        assert server.fetches <= 2
        assert set(server.requests) == {"/jwks"}
    finally:
        httpd.shutdown()
        httpd.server_close()
