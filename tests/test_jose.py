"""oauth_provider.jose: the one JWT checker (RFC 9068 profile, RFC 8725), its header reader and JWK Set parser.

Every rule is tested twice: through ``jose.verify`` itself and through both of its callers, the
authorization server's look-up (introspection and revocation) and the resource-side validator.
"""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from oauth_provider import jose
from oauth_provider.conf import SUPPORTED_SIGNING_ALGORITHMS
from oauth_provider.errors import InvalidToken
from oauth_provider.keys import get_jwks, get_signing_key, verification_key
from oauth_provider.resource.validator import get_validator
from oauth_provider.tokens.issue import issue_access_token
from oauth_provider.tokens.lookup import verified_access_token_claims
from tests.factories import ApplicationFactory
from tests.helpers.jwt import ISSUER, b64, claims, key_pair, sign, token, unsigned

pytestmark = pytest.mark.django_db


def server_accepts(raw: str) -> bool:
    return verified_access_token_claims(raw) is not None


def resource_accepts(raw: str) -> bool:
    try:
        get_validator().validate(raw)
    except InvalidToken:
        return False
    return True


BOTH_SIDES = [pytest.param(server_accepts, id="server"), pytest.param(resource_accepts, id="resource")]


def our_key(kid):
    return verification_key(kid, max_age=60, min_refetch_seconds=1)


def verify(raw: str, **options):
    arguments = {"key_for": our_key, "issuer": ISSUER, "audience": ISSUER, "algorithms": ("RS256", "ES256")}
    return jose.verify(raw, **{**arguments, **options})


def refusal(raw: str, **options) -> str:
    with pytest.raises(InvalidToken) as excinfo:
        verify(raw, **options)
    return excinfo.value.description


def hmac_signed_with(secret: bytes, header: dict, payload: dict) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


# --- one checker for both sides ---------------------------------------------------------------------


def test_both_sides_check_tokens_with_jose_verify(monkeypatch):
    calls = []
    real = jose.verify

    def spy(raw, **options):
        calls.append(options["audience"])
        return real(raw, **options)

    monkeypatch.setattr(jose, "verify", spy)
    value = token()
    assert server_accepts(value)
    assert resource_accepts(value)
    assert calls == [None, ISSUER]


@pytest.mark.parametrize("accepts", BOTH_SIDES)
def test_a_token_we_issued_is_accepted(accepts):
    issued = issue_access_token(application=ApplicationFactory(), scope=["read"], grant_type="client_credentials")
    assert accepts(issued.token)


@pytest.mark.parametrize("accepts", BOTH_SIDES)
@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_the_same_typ_is_accepted_on_both_sides(accepts, typ):
    assert accepts(sign(claims(), typ=typ))


@pytest.mark.parametrize("accepts", BOTH_SIDES)
@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "application/jwt", "at+jwt ", "application/at+jwt+x",
                                 "text/at+jwt", "dpop+jwt", "", 1, ["at+jwt"]])
def test_another_typ_is_refused_on_both_sides(accepts, typ):
    assert not accepts(sign(claims(), typ=typ))


@pytest.mark.parametrize("accepts", BOTH_SIDES)
@pytest.mark.parametrize("claim", jose.ACCESS_TOKEN.required_claims)
def test_a_token_missing_any_required_claim_is_refused_on_both_sides(accepts, claim):
    assert not accepts(token(**{claim: None}))


@pytest.mark.parametrize("accepts", BOTH_SIDES)
@pytest.mark.parametrize("claim", jose.ACCESS_TOKEN.string_claims)
@pytest.mark.parametrize("value", ["", 7])
def test_an_empty_or_non_string_sub_client_id_or_jti_is_refused_on_both_sides(accepts, claim, value):
    assert not accepts(token(**{claim: value}))


@pytest.mark.parametrize("accepts", BOTH_SIDES)
def test_alg_none_is_refused_on_both_sides(accepts):
    assert not accepts(unsigned({"alg": "none", "typ": "at+jwt", "kid": get_signing_key().kid}, claims()))


@pytest.mark.parametrize("accepts", BOTH_SIDES)
@pytest.mark.parametrize("form", ["pem", "jwk"])
def test_hs256_with_the_rsa_public_key_as_secret_is_refused_on_both_sides(accepts, form):
    key = get_signing_key()
    if form == "pem":
        secret = key.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    else:
        secret = json.dumps(get_jwks()["keys"][0]).encode()
    assert not accepts(hmac_signed_with(secret, {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}, claims()))


@pytest.mark.parametrize("accepts", BOTH_SIDES)
def test_an_unknown_kid_is_refused_on_both_sides(accepts):
    get_signing_key()
    assert not accepts(sign(claims(), kid="no-such-key"))


@pytest.mark.parametrize("accepts", BOTH_SIDES)
def test_a_signature_by_a_key_that_is_not_ours_is_refused_on_both_sides(accepts):
    row, private_key = key_pair("RS256")
    row.delete()
    assert not accepts(sign(claims(), private_key=private_key, kid=row.kid, algorithm="RS256"))


@pytest.mark.parametrize("accepts", BOTH_SIDES)
def test_a_signature_under_the_kid_of_a_key_of_another_type_is_refused_on_both_sides(accepts):
    _, ec_private = key_pair("ES256")
    assert not accepts(sign(claims(), private_key=ec_private, kid=get_signing_key().kid, algorithm="ES256"))


@pytest.mark.parametrize("accepts", BOTH_SIDES)
def test_a_wrong_issuer_is_refused_on_both_sides(accepts):
    assert not accepts(token(iss="https://evil.example"))


@pytest.mark.parametrize("accepts", BOTH_SIDES)
def test_a_tampered_payload_is_refused_on_both_sides(accepts):
    header, _, signature = token(scope="read").split(".")
    assert not accepts(f"{header}.{b64(json.dumps(claims(scope='admin')).encode())}.{signature}")


def test_expiry_and_audience_are_the_resource_sides_only():
    """The server's look-up finds expired tokens and tokens for any audience; the row and the endpoint decide."""
    now = int(time.time())
    expired, elsewhere = token(iat=now - 7200, exp=now - 3600), token(aud="https://other-api.example")
    assert server_accepts(expired) and server_accepts(elsewhere)
    assert not resource_accepts(expired) and not resource_accepts(elsewhere)


# --- jose.verify's answers ----------------------------------------------------------------------------


def test_verify_returns_the_claims():
    payload = claims()
    assert verify(sign(payload)) == payload


def test_verify_refuses_a_wrong_typ():
    assert refusal(sign(claims(), typ="JWT")) == "The token is not an access token (typ must be at+jwt)."


@pytest.mark.parametrize("claim", jose.ACCESS_TOKEN.required_claims)
def test_verify_refuses_a_missing_claim(claim):
    assert refusal(token(**{claim: None})) == f"The access token lacks the {claim} claim."


def test_verify_refuses_alg_none_even_when_the_allow_list_names_it():
    forged = unsigned({"alg": "none", "typ": "at+jwt", "kid": get_signing_key().kid}, claims())
    description = "The access token is signed with an algorithm that is not accepted."
    assert refusal(forged, algorithms=("RS256", "none")) == description


def test_verify_refuses_hs256_even_when_the_allow_list_names_it():
    key = get_signing_key()
    secret = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    forged = hmac_signed_with(secret, {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}, claims())
    assert refusal(forged, algorithms=("RS256", "HS256")) == (
        "The access token is signed with an algorithm that is not accepted.")


def test_verify_refuses_an_algorithm_outside_the_allow_list():
    assert refusal(token(), algorithms=("ES256",)) == (
        "The access token is signed with an algorithm that is not accepted.")


@pytest.mark.parametrize("alg", [None, 1, ["RS256"], {"RS256": 1}])
def test_verify_refuses_an_alg_that_is_not_a_string(alg):
    forged = unsigned({"alg": alg, "typ": "at+jwt", "kid": get_signing_key().kid}, claims())
    assert refusal(forged) == "The access token is signed with an algorithm that is not accepted."


@pytest.mark.parametrize("kid", [None, "", 7, ["k"]])
def test_verify_refuses_a_missing_or_non_string_kid(kid):
    header = {"alg": "RS256", "typ": "at+jwt", **({"kid": kid} if kid is not None else {})}
    assert refusal(unsigned(header, claims(), signature=b"x" * 256)) == "The access token names no signing key (kid)."


def test_verify_refuses_an_unknown_kid():
    get_signing_key()
    assert refusal(sign(claims(), kid="nope")) == "The access token is signed with an unknown key."


def test_verify_refuses_an_expired_token_beyond_the_leeway_only():
    now = int(time.time())
    expired = token(iat=now - 700, exp=now - 20)
    assert refusal(expired) == "The access token expired."
    assert verify(expired, leeway=30)["exp"] == now - 20
    assert verify(expired, check_time=False)["exp"] == now - 20


def test_verify_refuses_a_wrong_issuer_or_audience():
    assert refusal(token(iss="https://evil.example")) == "The access token comes from another issuer (iss)."
    assert refusal(token(aud="https://other.example")) == "The access token is not meant for this API (aud)."
    assert verify(token(aud="https://other.example"), audience=None)["aud"] == "https://other.example"


def test_verify_never_asks_for_a_key_before_the_header_is_acceptable():
    asked = []

    def key_for(kid):
        asked.append(kid)
        return our_key(kid)

    for forged in (sign(claims(), typ="JWT"), unsigned({"alg": "none", "typ": "at+jwt", "kid": "k"}, claims()),
                   "not-a-token"):
        with pytest.raises(InvalidToken):
            verify(forged, key_for=key_for)
    assert asked == []


# --- issue ------------------------------------------------------------------------------------------------


def test_issue_signs_an_access_token_with_typ_kid_and_alg():
    key = get_signing_key()
    payload = claims()
    value = jose.issue(payload, key)
    assert jwt.get_unverified_header(value) == {"alg": "RS256", "typ": "at+jwt", "kid": key.kid}
    assert verify(value) == payload


@pytest.mark.parametrize("claim", jose.ACCESS_TOKEN.required_claims)
def test_issue_refuses_claims_that_lack_a_required_one(claim):
    with pytest.raises(ValueError, match=claim):
        jose.issue(claims(**{claim: None}), get_signing_key())


# --- the profile and the allow-list -----------------------------------------------------------------------


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "APPLICATION/At+Jwt"])
def test_profile_accepts_its_media_type_in_any_case_with_or_without_the_prefix(typ):
    assert jose.ACCESS_TOKEN.accepts_type(typ)


@pytest.mark.parametrize("typ", [None, "", "jwt", "JWT", "application/jwt", "at+jwt;q=1", " at+jwt", "x/at+jwt",
                                 "application/application/at+jwt", b"at+jwt", 0])
def test_profile_refuses_every_other_type(typ):
    assert not jose.ACCESS_TOKEN.accepts_type(typ)


def test_a_further_profile_is_just_another_profile_object():
    proof = jose.Profile(typ="dpop+jwt", required_claims=("jti", "htm", "htu", "iat"))
    assert proof.accepts_type("application/DPoP+JWT") and not proof.accepts_type("at+jwt")
    assert not jose.ACCESS_TOKEN.accepts_type("dpop+jwt")


@pytest.mark.parametrize("algorithms", [(), ["RS256", "HS256"], ["none"], ["NONE"], ["HS384"], ["HS512"]])
def test_check_algorithms_refuses_none_hmac_and_an_empty_list(algorithms):
    with pytest.raises(ValueError):
        jose.check_algorithms(algorithms)


def test_check_algorithms_accepts_the_supported_ones():
    assert jose.check_algorithms(list(SUPPORTED_SIGNING_ALGORITHMS)) == SUPPORTED_SIGNING_ALGORITHMS


# --- the header reader ---------------------------------------------------------------------------------


def encoded(header_bytes: bytes) -> str:
    return base64.urlsafe_b64encode(header_bytes).rstrip(b"=").decode() + ".e30.sig"


@pytest.mark.parametrize("header", [
    {"alg": "RS256", "typ": "at+jwt", "kid": "k"},
    {"alg": "ES256", "kid": "ünï©ødé", "x": [1, {"y": None}]},
    {},
])
def test_header_reader_agrees_with_pyjwt_on_valid_headers(header):
    value = encoded(json.dumps(header).encode())
    assert jose.unverified_header(value) == jwt.get_unverified_header(value) == header


@pytest.mark.parametrize("value", [
    "",
    "no-dot-at-all",
    ".e30.sig",  # empty header segment
    encoded(b"[1, 2]"),  # JSON, but not an object
    encoded(b'"a string"'),
    encoded(b"42"),
    encoded(b"null"),
    encoded(b"{not json"),
    encoded(b"\xff\xfe{}"),  # not UTF-8 JSON
    base64.urlsafe_b64encode(b'{"a":1}').decode() + ".e30.sig",  # padded: not the base64url of a JWS
    "eyJhbGciOiJSUzI1NiJ9+/.e30.sig",  # standard-base64 characters
    "eyJhbGci OiJSUzI1NiJ9.e30.sig",
    "eyJhbGciOiJSUzI1NiJ9\n.e30.sig",
    "e.e30.sig",  # a length no base64 has
    "x" * (jose.MAX_TOKEN_LENGTH + 1),
])
def test_header_reader_refuses_what_is_not_a_jose_header(value):
    with pytest.raises(InvalidToken, match="malformed"):
        jose.unverified_header(value)


@pytest.mark.parametrize("value", [None, 7, b"eyJ9.e30.sig", ["a.b.c"]])
def test_header_reader_refuses_what_is_not_a_string(value):
    with pytest.raises(InvalidToken, match="malformed"):
        jose.unverified_header(value)


def test_header_reader_bounds_the_token_length():
    header = b64(json.dumps({"alg": "RS256"}).encode())
    at_the_limit = header + "." + "a" * (jose.MAX_TOKEN_LENGTH - len(header) - 1)
    assert jose.unverified_header(at_the_limit) == {"alg": "RS256"}
    with pytest.raises(InvalidToken):
        jose.unverified_header(at_the_limit + "a")


# --- JWK Sets ----------------------------------------------------------------------------------------------


def test_parse_jwk_set_keeps_signing_keys_by_kid_only(caplog):
    rsa = get_jwks()["keys"][0]
    document = {"keys": [
        rsa,
        {**rsa, "kid": "for-encryption", "use": "enc"},
        {key: value for key, value in rsa.items() if key != "kid"},
        {"kty": "RSA", "kid": "broken\nkid", "n": "AQAB"},
        "not a key",
    ]}
    keys = jose.parse_jwk_set(document)
    assert list(keys) == [rsa["kid"]]
    assert keys[rsa["kid"]].algorithm_name == "RS256"
    assert "'broken\\nkid'" in caplog.text  # logged escaped


@pytest.mark.parametrize("document", [None, [], {}, {"keys": {}}, {"keys": "x"}])
def test_parse_jwk_set_refuses_what_is_not_a_jwk_set(document):
    with pytest.raises(ValueError):
        jose.parse_jwk_set(document)
