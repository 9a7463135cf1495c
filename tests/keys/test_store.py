import jwt
import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings

from oauth_provider.conf import oauth_settings
from oauth_provider.keys import store as keys
from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import AuditEvent, KeyState, SigningKey
from tests.helpers.jwt import FakeClock

pytestmark = pytest.mark.django_db


def test_active_key_is_created_on_first_need():
    assert not SigningKey.objects.exists()
    loaded = keys.get_signing_key()
    row = SigningKey.objects.get()
    assert row.state == KeyState.ACTIVE
    assert row.kid == loaded.kid
    assert row.algorithm == "RS256"
    assert AuditEvent.objects.filter(event="signing_key_created").count() == 1


def test_private_key_is_encrypted_at_rest():
    keys.get_signing_key()
    row = SigningKey.objects.get()
    assert "PRIVATE KEY" not in row.private_key_encrypted
    assert "BEGIN" not in row.private_key_encrypted
    private_key = keys.decrypt_private_key(row.private_key_encrypted)
    assert private_key.key_size == 2048


def test_key_cannot_be_decrypted_with_another_encryption_key(settings):
    keys.get_signing_key()
    row = SigningKey.objects.get()
    other = {**settings.OAUTH_PROVIDER, "KEY_ENCRYPTION_KEYS": ["other"]}
    with override_settings(OAUTH_PROVIDER=other), pytest.raises(keys.SigningKeyError, match="cannot decrypt"):
        keys.decrypt_private_key(row.private_key_encrypted)


def test_encryption_keys_rotate_old_key_still_decrypts(settings):
    keys.get_signing_key()
    row = SigningKey.objects.get()
    rotated = {**settings.OAUTH_PROVIDER, "KEY_ENCRYPTION_KEYS": ["new-secret", "test-key-encryption-secret"]}
    with override_settings(OAUTH_PROVIDER=rotated):
        assert keys.decrypt_private_key(row.private_key_encrypted) is not None


def test_jwks_publishes_public_members_only():
    keys.get_signing_key()
    document = keys.get_jwks()
    (jwk,) = document["keys"]
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["use"] == "sig"
    assert {"d", "p", "q", "dp", "dq", "qi"}.isdisjoint(jwk)


def test_kid_is_the_rfc7638_thumbprint():
    # RFC 7638 §3.1 example key and thumbprint.
    jwk = {
        "kty": "RSA",
        "e": "AQAB",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRX"
             "jBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8"
             "KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBn"
             "iIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    }
    assert keys.jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(("algorithm", "kty"), [("ES256", "EC"), ("EdDSA", "OKP")])
def test_other_algorithms_sign_and_verify(algorithm, kty):
    loaded = keys.get_signing_key(algorithm)
    token = jwt.encode({"x": 1}, loaded.private_key, algorithm=algorithm, headers={"kid": loaded.kid})
    jwk = next(k for k in keys.get_jwks()["keys"] if k["kid"] == loaded.kid)
    assert jwk["kty"] == kty
    assert jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=[algorithm]) == {"x": 1}


def test_signing_key_is_parsed_once_per_process(django_assert_num_queries):
    first = keys.get_signing_key()
    with django_assert_num_queries(0):
        assert keys.get_signing_key() is first


def test_cache_expires_and_rereads_the_database(settings, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(keys.key_cache, "clock", clock)
    first = keys.get_signing_key()
    # Another process rotated the key (update() and bulk_create() send no signal to this process).
    SigningKey.objects.filter(kid=first.kid).update(state=KeyState.RETIRED)
    private_key, jwk = keys.generate_key_pair("RS256")
    jwk.update({"kid": keys.jwk_thumbprint(jwk), "alg": "RS256", "use": "sig"})
    SigningKey.objects.bulk_create([SigningKey(kid=jwk["kid"], algorithm="RS256", state=KeyState.ACTIVE,
                                               public_jwk=jwk,
                                               private_key_encrypted=keys.encrypt_private_key(private_key))])
    clock.advance(oauth_settings.SIGNING_KEY_CACHE_SECONDS - 1)
    assert keys.get_signing_key() is first  # still fresh
    clock.advance(2)
    assert keys.get_signing_key().kid == jwk["kid"]


def test_only_one_active_key_per_algorithm():
    keys.create_signing_key("RS256", state=KeyState.ACTIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        keys.create_signing_key("RS256", state=KeyState.ACTIVE)


def test_next_and_retired_keys_stay_published():
    active = keys.get_signing_key()
    upcoming = keys.create_signing_key("RS256", state=KeyState.NEXT)
    retired = keys.create_signing_key("RS256", state=KeyState.RETIRED)
    kids = {k["kid"] for k in keys.get_jwks()["keys"]}
    assert {active.kid, upcoming.kid, retired.kid} <= kids


def test_unsupported_algorithm_is_refused():
    with pytest.raises(keys.SigningKeyError):
        keys.create_signing_key("HS256")


@pytest.mark.security("S24")
def test_private_signing_keys_are_encrypted_at_rest():
    get_signing_key()
    stored = SigningKey.objects.get().private_key_encrypted
    assert "PRIVATE KEY" not in stored
    assert "BEGIN" not in stored
