"""SECURITY.md, "JWT validation (resource side, RFC 8725)" (items 14-17)."""

import hashlib
import hmac
import json
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from oauth_provider.errors import InvalidToken
from oauth_provider.keys.store import get_signing_key
from oauth_provider.resource.keysets import RemoteKeySet
from oauth_provider.resource.validator import TokenValidator, get_validator
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


def refused(raw: str) -> None:
    with pytest.raises(InvalidToken):
        get_validator().validate(raw)


def test_item_14_alg_none_is_rejected():
    refused(unsigned({"alg": "none", "typ": "at+jwt", "kid": get_signing_key().kid}, claims()))


def test_item_14_hmac_with_the_public_key_is_rejected_algorithm_confusion():
    key = get_signing_key()
    from oauth_provider.keys.store import get_jwks

    public = json.dumps(get_jwks()["keys"][0]).encode()
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    refused(f"{signing_input}.{b64(signature)}")


def test_item_14_the_allow_list_comes_from_configuration_none_and_hmac_cannot_be_configured():
    hmac_allowed = oauth_settings_with(RESOURCE_ALGORITHMS=["RS256", "HS256"])
    with override_settings(OAUTH_PROVIDER=hmac_allowed), pytest.raises(ImproperlyConfigured):
        get_validator()
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_ALGORITHMS=["ES256"])):
        refused(token())  # an RS256 token, though its key is known


def test_item_14_unknown_kids_are_rejected():
    refused(sign(claims(), kid="no-such-kid"))


def test_item_14_jku_and_x5u_headers_are_never_followed():
    server, httpd = start_jwks_server()
    try:
        refused(sign(claims(), kid="elsewhere", jku=f"{server.url}/jwks", x5u=f"{server.url}/x5u"))
        assert server.fetches == 0
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_item_14_the_key_type_must_match_the_algorithm():
    ec_row, _ = key_pair("ES256", state="next")
    rsa = get_signing_key()
    # An RS256 signature that names the EC key: the EC key can never verify an RSA algorithm.
    refused(sign(claims(), private_key=rsa.private_key, kid=ec_row.kid, algorithm="RS256"))
    # An ES256 header that names the RSA key.
    refused(unsigned({"alg": "ES256", "typ": "at+jwt", "kid": rsa.kid}, claims(), signature=b"x" * 64))


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "application/jwt"])
def test_item_15_typ_must_be_at_jwt(typ):
    refused(sign(claims(), typ=typ) if typ else sign(claims(), typ=None))


@pytest.mark.parametrize("claim, value", [
    ("iss", "https://other.example"), ("aud", "https://other-api.example"),
    ("exp", int(time.time()) - 3600), ("nbf", int(time.time()) + 3600), ("iat", int(time.time()) + 3600),
    ("exp", None), ("iss", None), ("aud", None),
])
def test_item_15_iss_aud_exp_nbf_iat_are_checked(claim, value):
    refused(token(**{claim: value}))


def test_item_15_a_small_configured_leeway_applies():
    get_validator().validate(token(exp=int(time.time()) - 10))
    refused(token(exp=int(time.time()) - 31))


def test_item_16_failures_answer_401_with_bearer_invalid_token():
    response = Client().get("/api/me", HTTP_AUTHORIZATION="Bearer " + token(iss="https://other.example"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert response["WWW-Authenticate"].startswith("Bearer ")


def test_item_16_missing_scope_answers_403_insufficient_scope_naming_the_scope():
    response = Client().delete("/api/notes/1/", HTTP_AUTHORIZATION="Bearer " + token(scope="read", sub="1"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert 'scope="' in response["WWW-Authenticate"]


def test_item_16_a_token_in_the_query_string_is_refused():
    response = Client().get("/api/me?access_token=" + token())
    assert response.status_code == 400
    assert 'error="invalid_request"' in response["WWW-Authenticate"]


def test_item_17_remote_jwks_are_cached_refetched_at_a_bounded_rate_and_only_from_the_configured_url():
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
