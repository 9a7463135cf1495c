"""oauth_provider.jose's DPoP part: RFC 7638 thumbprints and the ath hash (RFC 9449 §4.2).

The proof checks themselves are tested through ``dpop.verify_proof`` in tests/test_dpop.py.
"""

import pytest

from oauth_provider import jose
from tests.helpers.dpop import ProofKey

# --- RFC 7638 thumbprints ------------------------------------------------------------------------

RFC7638_KEY = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4"
         "n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zg"
         "dAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur"
         "-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


def test_thumbprint_of_the_rfc7638_example_key():
    # RFC 7638 §3.1: optional members (alg, kid) do not take part.
    assert jose.jwk_thumbprint(RFC7638_KEY) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("algorithm", ["ES256", "ES384", "RS256", "EdDSA"])
def test_thumbprint_agrees_with_joserfc(algorithm):
    key = ProofKey(algorithm)
    assert jose.jwk_thumbprint({**key.public_jwk, "use": "sig", "kid": "x"}) == key.jkt


@pytest.mark.parametrize("jwk", [{"kty": "oct", "k": "AAAA"}, {"kty": "EC", "crv": "P-256", "x": "AA"}, {}])
def test_thumbprint_refuses_unknown_or_incomplete_keys(jwk):
    with pytest.raises(ValueError):
        jose.jwk_thumbprint(jwk)


def test_ath_is_base64url_sha256_of_the_token():
    # RFC 9449 §7.1 example: the access token and its ath.
    assert jose.access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU") == (
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    )
