"""The token validator (RFC 9068 + RFC 8725, docs/SECURITY.md S14 and S15), one rejection per test."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

import pytest
from cryptography.hazmat.primitives import serialization
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidToken
from oauth_provider.jose import ACCESS_TOKEN
from oauth_provider.keys import store as keys
from oauth_provider.models import AccessToken, KeyState, SigningKey
from oauth_provider.resource.keysets import LocalKeySet
from oauth_provider.resource.validator import TokenValidator, get_validator, revocation_check_enabled
from oauth_provider.tokens.issue import issue_access_token
from oauth_provider.tokens.revocation import revoke_access_tokens
from tests.factories import ApplicationFactory, UserFactory
from tests.helpers.jwt import (
    FakeClock,
    b64,
    claims,
    key_pair,
    oauth_settings_with,
    sign,
    start_jwks_server,
    token,
    unsigned,
)

pytestmark = pytest.mark.django_db


def rejected(token_value: str, validator=None) -> str:
    with pytest.raises(InvalidToken) as excinfo:
        (validator or get_validator()).validate(token_value)
    assert excinfo.value.status_code == 401
    return excinfo.value.description


def test_valid_token_gives_claims_scopes_and_client():
    info = get_validator().validate(token(sub="client-1", client_id="client-1", scope="read write"))
    assert info.scopes == ("read", "write")
    assert info.client_id == "client-1"
    assert info.subject == "client-1"
    assert info.claims["iss"] == "http://testserver"
    assert info.is_client_only


def test_token_from_issue_access_token_is_accepted():
    application = ApplicationFactory()
    issued = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
    info = get_validator().validate(issued.token)
    assert info.jti == issued.record.jti
    assert info.client_id == application.client_id


def test_result_is_immutable():
    info = get_validator().validate(token())
    with pytest.raises(AttributeError):
        info.client_id = "other"
    with pytest.raises(TypeError):
        info.claims["scope"] = "admin"


@pytest.mark.security("S15")
def test_expired_token_is_rejected():
    now = int(time.time())
    assert rejected(token(iat=now - 700, exp=now - 31)) == "The access token expired."


@pytest.mark.security("S15")
def test_expiry_within_leeway_is_accepted():
    now = int(time.time())
    get_validator().validate(token(iat=now - 700, exp=now - 10))


@pytest.mark.security("S15")
def test_token_not_yet_valid_nbf_in_future_is_rejected():
    assert rejected(token(nbf=int(time.time()) + 120)) == "The access token is not valid yet."


@pytest.mark.security("S15")
def test_iat_in_future_beyond_leeway_is_rejected():
    now = int(time.time())
    assert rejected(token(iat=now + 120, exp=now + 700)) == "The access token is not valid yet."


def test_iat_in_future_within_leeway_is_accepted():
    now = int(time.time())
    get_validator().validate(token(iat=now + 10))


def test_leeway_comes_from_settings():
    now = int(time.time())
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_LEEWAY=0)):
        assert rejected(token(iat=now - 700, exp=now - 10)) == "The access token expired."


@pytest.mark.security("S15")
def test_wrong_issuer_is_rejected():
    assert rejected(token(iss="https://evil.example")) == "The access token comes from another issuer (iss)."


@pytest.mark.security("S15")
def test_wrong_audience_is_rejected():
    description = rejected(token(aud="https://other-api.example"))
    assert description == "The access token is not meant for this API (aud)."


def test_audience_list_containing_ours_is_accepted():
    get_validator().validate(token(aud=["https://other-api.example", "http://testserver"]))


def test_configured_audience_replaces_the_default():
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_AUDIENCE="https://notes.example")):
        assert "aud" in rejected(token())
        get_validator().validate(token(aud="https://notes.example"))


def test_configured_issuer_replaces_the_default():
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_ISSUER="https://as.example")):
        assert "iss" in rejected(token())
        get_validator().validate(token(iss="https://as.example"))


@pytest.mark.security("S15")
def test_missing_typ_is_rejected():
    assert rejected(sign(claims(), typ=None)) == "The token is not an access token (typ must be at+jwt)."


@pytest.mark.security("S15")
def test_wrong_typ_is_rejected():
    assert rejected(sign(claims(), typ="JWT")) == "The token is not an access token (typ must be at+jwt)."


@pytest.mark.parametrize("typ", ["AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_typ_is_compared_case_insensitively_with_or_without_application_prefix(typ):
    get_validator().validate(sign(claims(), typ=typ))


@pytest.mark.security("S14")
def test_alg_none_is_rejected():
    kid = keys.get_signing_key().kid
    forged = unsigned({"alg": "none", "typ": "at+jwt", "kid": kid}, claims())
    assert rejected(forged) == "The access token is signed with an algorithm that is not accepted."


@pytest.mark.security("S14")
def test_hs256_signed_with_the_public_key_is_rejected():
    """Algorithm confusion (RFC 8725 §2.1): the public key PEM used as an HMAC secret."""
    loaded = keys.get_signing_key()
    public_pem = loaded.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": loaded.kid}).encode())
    payload = b64(json.dumps(claims()).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert rejected(f"{header}.{payload}.{b64(signature)}") == (
        "The access token is signed with an algorithm that is not accepted."
    )


@pytest.mark.security("S14")
@pytest.mark.parametrize("algorithm", ["HS256", "none", "NONE"])
def test_symmetric_or_none_algorithm_in_settings_is_refused(algorithm):
    settings_value = oauth_settings_with(RESOURCE_ALGORITHMS=["RS256", algorithm])
    with override_settings(OAUTH_PROVIDER=settings_value), pytest.raises(ImproperlyConfigured):
        get_validator()


@pytest.mark.security("S14")
def test_algorithm_outside_the_allow_list_is_rejected():
    row, private_key = key_pair("ES256")
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_ALGORITHMS=["RS256"])):
        forged = sign(claims(), private_key=private_key, kid=row.kid, algorithm="ES256")
        assert rejected(forged) == "The access token is signed with an algorithm that is not accepted."


@pytest.mark.security("S14")
def test_unknown_kid_is_rejected():
    assert rejected(sign(claims(), kid="no-such-key")) == "The access token is signed with an unknown key."


def test_missing_kid_is_rejected():
    assert rejected(sign(claims(), kid=None)) == "The access token names no signing key (kid)."


@pytest.mark.security("S14")
def test_key_type_not_matching_the_algorithm_is_rejected():
    """An ES256 signature presented under the kid of an RSA key."""
    rsa_kid = keys.get_signing_key().kid
    _, ec_private = key_pair("ES256")
    forged = sign(claims(), private_key=ec_private, kid=rsa_kid, algorithm="ES256")
    assert rejected(forged) == "The access token's algorithm does not match its key."


def test_tampered_payload_is_rejected():
    header, _, signature = token(scope="read").split(".")
    forged_payload = b64(json.dumps(claims(scope="read write admin")).encode())
    assert rejected(f"{header}.{forged_payload}.{signature}") == "The access token signature is invalid."


@pytest.mark.parametrize("claim", ACCESS_TOKEN.required_claims)
def test_token_missing_a_required_claim_is_rejected(claim):
    assert rejected(token(**{claim: None})) == f"The access token lacks the {claim} claim."


@pytest.mark.parametrize("value", ["", "a.b", "a.b.c", "x" * 9000, "eyJhbGciOi.JIUzI1NiJ9.e30"])
def test_malformed_token_is_rejected(value):
    rejected(value)


def test_scope_claim_that_is_not_a_string_is_rejected():
    assert rejected(token(scope=["read"])) == "The access token's scope claim is invalid."


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
def test_tokens_of_every_supported_algorithm_are_accepted(algorithm):
    row, private_key = key_pair(algorithm)
    get_validator().validate(sign(claims(), private_key=private_key, kid=row.kid, algorithm=algorithm))


def test_token_from_a_retired_but_still_published_key_is_accepted():
    row, private_key = key_pair("RS256", state=KeyState.RETIRED)
    info = get_validator().validate(sign(claims(), private_key=private_key, kid=row.kid, algorithm="RS256"))
    assert info.client_id == "client-1"


def test_token_signed_by_a_deleted_key_is_rejected():
    row, private_key = key_pair("RS256", state=KeyState.RETIRED)
    old_token = sign(claims(), private_key=private_key, kid=row.kid, algorithm="RS256")
    get_validator().validate(old_token)
    row.delete()
    assert rejected(old_token) == "The access token is signed with an unknown key."


def test_key_deleted_by_another_process_is_rejected_once_the_cache_expires(monkeypatch):
    clock = FakeClock()
    row, private_key = key_pair("RS256", state=KeyState.RETIRED)
    validator = _local_validator(clock, monkeypatch)
    old_token = sign(claims(), private_key=private_key, kid=row.kid, algorithm="RS256")
    validator.validate(old_token)
    SigningKey.objects.filter(pk=row.pk)._raw_delete(SigningKey.objects.db)  # no signal: another process
    validator.validate(old_token)  # still cached
    clock.advance(301)
    assert rejected(old_token, validator) == "The access token is signed with an unknown key."


def _local_validator(clock, monkeypatch):
    """A validator that trusts the SigningKey table, with the key cache's clock under the test's control."""
    monkeypatch.setattr(keys.key_cache, "clock", clock)
    return TokenValidator(
        issuer="http://testserver",
        audience="http://testserver",
        algorithms=["RS256"],
        key_set=LocalKeySet(cache_seconds=300, min_refetch_seconds=30),
    )


def _key_created_by_another_process():
    """A key row written without this process's signals (bulk_create sends none)."""
    private_key, jwk = keys.generate_key_pair("RS256")
    jwk.update({"kid": keys.jwk_thumbprint(jwk), "alg": "RS256", "use": "sig"})
    SigningKey.objects.bulk_create([
        SigningKey(kid=jwk["kid"], algorithm="RS256", state=KeyState.NEXT, public_jwk=jwk,
                   private_key_encrypted=keys.encrypt_private_key(private_key))
    ])
    return jwk["kid"], private_key


def test_key_created_by_another_process_is_found_on_an_unknown_kid(monkeypatch):
    clock = FakeClock()
    validator = _local_validator(clock, monkeypatch)
    validator.validate(token())
    kid, private_key = _key_created_by_another_process()
    clock.advance(31)
    validator.validate(sign(claims(), private_key=private_key, kid=kid, algorithm="RS256"))


def test_unknown_kid_does_not_reload_local_keys_within_the_refetch_interval(monkeypatch):
    clock = FakeClock()
    validator = _local_validator(clock, monkeypatch)
    validator.validate(token())
    kid, private_key = _key_created_by_another_process()
    new_token = sign(claims(), private_key=private_key, kid=kid, algorithm="RS256")
    clock.advance(10)
    rejected(new_token, validator)
    clock.advance(21)
    validator.validate(new_token)


def test_forged_kids_reload_local_keys_at_most_once_per_interval(django_assert_max_num_queries, monkeypatch):
    clock = FakeClock()
    validator = _local_validator(clock, monkeypatch)
    validator.validate(token())
    clock.advance(31)
    with django_assert_max_num_queries(1):
        for number in range(50):
            rejected(sign(claims(), kid=f"forged-{number}"), validator)


@pytest.mark.security("S14", "S17")
def test_jku_and_x5u_headers_are_never_followed():
    server, httpd = start_jwks_server()
    try:
        row, attacker_key = key_pair("RS256")
        attacker_jwk = dict(row.public_jwk)
        server.publish(row)
        row.delete()  # the attacker's key is only on the attacker's server
        forged = sign(
            claims(), private_key=attacker_key, kid=attacker_jwk["kid"], algorithm="RS256",
            jku=f"{server.url}/jwks", x5u=f"{server.url}/cert", jwk=attacker_jwk,
        )
        assert rejected(forged) == "The access token is signed with an unknown key."
        assert server.fetches == 0
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_valid_token_with_a_jku_header_is_verified_with_the_trusted_key_only():
    server, httpd = start_jwks_server()
    try:
        get_validator().validate(sign(claims(), jku=f"{server.url}/jwks"))
        assert server.fetches == 0
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_validation_makes_no_database_query_after_warm_up(django_assert_num_queries):
    get_validator().validate(token())
    with django_assert_num_queries(0):
        for _ in range(5):
            get_validator().validate(token())


def test_user_is_loaded_lazily(django_assert_num_queries):
    user = UserFactory()
    get_validator().validate(token())
    with django_assert_num_queries(0):
        info = get_validator().validate(token(sub=str(user.pk)))
    assert not info.is_client_only
    with django_assert_num_queries(1):
        assert info.user == user
        assert info.user == user  # resolved once


def test_client_only_token_has_anonymous_user_without_query(django_assert_num_queries):
    info = get_validator().validate(token(sub="client-1", client_id="client-1"))
    with django_assert_num_queries(0):
        assert isinstance(info.user, AnonymousUser)
    assert info.client_id == "client-1"


def test_token_of_an_inactive_or_unknown_user_gives_anonymous_user():
    inactive = UserFactory(is_active=False)
    assert isinstance(get_validator().validate(token(sub=str(inactive.pk))).user, AnonymousUser)
    assert isinstance(get_validator().validate(token(sub="987654")).user, AnonymousUser)
    assert isinstance(get_validator().validate(token(sub="not-a-number")).user, AnonymousUser)


def _issued_and_revoked():
    application = ApplicationFactory()
    issued = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
    revoke_access_tokens(AccessToken.objects.filter(pk=issued.record.pk))
    return issued.token


def test_revoked_token_is_accepted_when_the_revocation_check_is_off(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        revoked = _issued_and_revoked()
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_CHECK_REVOCATION=False)):
        get_validator().validate(revoked)


def test_revoked_token_is_rejected_when_the_revocation_check_is_on(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        revoked = _issued_and_revoked()
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_CHECK_REVOCATION=True)):
        assert rejected(revoked) == "The access token has been revoked."


def test_revocation_check_looks_in_the_process_list_not_the_database(django_assert_num_queries):
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_CHECK_REVOCATION=True)):
        get_validator().validate(token())
        with django_assert_num_queries(0):
            get_validator().validate(token())


@pytest.mark.security("S26")
def test_the_revocation_check_is_on_by_default_and_off_with_a_remote_jwks():
    """None (the default) means: on with this project's keys; a remote server's revocations are not in our
    database, so with RESOURCE_JWKS_URL it is off unless set explicitly (README: remote resource servers)."""
    assert oauth_settings.RESOURCE_CHECK_REVOCATION is None
    assert get_validator().check_revocation is True
    remote = oauth_settings_with(RESOURCE_JWKS_URL="https://as.example/jwks")
    with override_settings(OAUTH_PROVIDER=remote):
        assert revocation_check_enabled() is False
    with override_settings(OAUTH_PROVIDER={**remote, "RESOURCE_CHECK_REVOCATION": True}):
        assert revocation_check_enabled() is True


def test_resource_package_never_imports_views_or_grants():
    """A separate resource server installs only the resource side (ARCHITECTURE.md)."""
    code = (
        "import django, sys; django.setup(); "
        "import oauth_provider.resource.middleware, oauth_provider.resource.authentication, "
        "oauth_provider.resource.permissions, oauth_provider.resource.decorators; "
        "bad = [m for m in sys.modules if m.startswith(('oauth_provider.views', 'oauth_provider.grants'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "example_project.settings_resource_server"}
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.security("S14")
def test_hs256_signed_with_the_published_jwk_is_rejected():
    key = keys.get_signing_key()
    public = json.dumps(keys.get_jwks()["keys"][0]).encode()
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    rejected(f"{signing_input}.{b64(signature)}")


@pytest.mark.security("S14")
def test_the_allow_list_comes_from_settings_and_cannot_hold_hmac():
    hmac_allowed = oauth_settings_with(RESOURCE_ALGORITHMS=["RS256", "HS256"])
    with override_settings(OAUTH_PROVIDER=hmac_allowed), pytest.raises(ImproperlyConfigured):
        get_validator()
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_ALGORITHMS=["ES256"])):
        rejected(token())  # an RS256 token, though its key is known


@pytest.mark.security("S14")
def test_a_key_never_verifies_an_algorithm_of_another_key_type():
    ec_row, _ = key_pair("ES256", state="next")
    rsa = keys.get_signing_key()
    # An RS256 signature that names the EC key: the EC key can never verify an RSA algorithm.
    rejected(sign(claims(), private_key=rsa.private_key, kid=ec_row.kid, algorithm="RS256"))
    # An ES256 header that names the RSA key.
    rejected(unsigned({"alg": "ES256", "typ": "at+jwt", "kid": rsa.kid}, claims(), signature=b"x" * 64))


@pytest.mark.security("S15")
@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "application/jwt"])
def test_typ_other_than_at_jwt_is_rejected(typ):
    rejected(sign(claims(), typ=typ) if typ else sign(claims(), typ=None))


@pytest.mark.security("S15")
@pytest.mark.parametrize("claim, value", [
    ("iss", "https://other.example"), ("aud", "https://other-api.example"),
    ("exp", int(time.time()) - 3600), ("nbf", int(time.time()) + 3600), ("iat", int(time.time()) + 3600),
    ("exp", None), ("iss", None), ("aud", None),
])
def test_wrong_or_missing_iss_aud_exp_nbf_iat_are_rejected(claim, value):
    rejected(token(**{claim: value}))


@pytest.mark.security("S15")
def test_the_default_leeway_is_thirty_seconds():
    get_validator().validate(token(exp=int(time.time()) - 10))
    rejected(token(exp=int(time.time()) - 31))


@pytest.mark.security("S26")
def test_a_revoked_access_token_is_refused_with_the_default_settings(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        revoked = _issued_and_revoked()
    assert rejected(revoked) == "The access token has been revoked."
