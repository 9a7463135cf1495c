"""oauth_provider.dpop: DPoP proofs (RFC 9449 §4.3), thumbprints (RFC 7638), htu normalisation, nonces, replay.

Proofs are built and signed by joserfc (a third-party JOSE library), never by the code under test.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from oauth_provider import dpop
from oauth_provider.errors import InvalidDPoPProof, UseDPoPNonce
from tests.helpers.dpop import ProofKey, ath, hs256_proof, unsigned_proof

URL = "https://server.example.com/token"


@contextmanager
def dpop_settings(**values):
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, **values}):
        yield


@pytest.fixture(autouse=True)
def _clear_replay_cache():
    caches[dpop.oauth_settings.DPOP_REPLAY_CACHE].clear()


@pytest.fixture(scope="module")
def es256():
    return ProofKey("ES256")


def refused(proof, reason, **kwargs):
    kwargs.setdefault("method", "POST")
    kwargs.setdefault("uri", URL)
    with pytest.raises(InvalidDPoPProof) as caught:
        dpop.verify_proof(proof, **kwargs)
    assert caught.value.error == "invalid_dpop_proof"
    assert caught.value.status_code == 400
    assert reason in caught.value.description
    return caught.value


# --- htu normalisation (RFC 9449 §4.3, RFC 3986 §6.2.2-6.2.3) --------------------------------------


@pytest.mark.parametrize(
    "presented",
    [
        "https://server.example.com/token",
        "HTTPS://Server.Example.COM/token",
        "https://server.example.com:443/token",
        "https://server.example.com/token?x=1",
        "https://server.example.com/token#frag",
        "https://server.example.com/./a/../token",
        "https://server.example.com/%74oken",
    ],
)
def test_equivalent_uris_normalise_alike(presented):
    assert dpop.normalise_htu(presented) == "https://server.example.com/token"


def test_normalisation_keeps_what_distinguishes_resources():
    assert dpop.normalise_htu("http://a.example/") != dpop.normalise_htu("https://a.example/")
    assert dpop.normalise_htu("https://a.example:8443/x") == "https://a.example:8443/x"
    assert dpop.normalise_htu("https://a.example/Token") != dpop.normalise_htu("https://a.example/token")
    assert dpop.normalise_htu("https://a.example") == "https://a.example/"
    assert dpop.normalise_htu("https://a.example/a%2fb") == "https://a.example/a%2Fb"


@pytest.mark.parametrize("uri", ["/token", "ftp://a.example/x", "https:///x", "https://u:p@a.example/", "https://a:99999/"])
def test_non_http_uris_are_refused(uri):
    with pytest.raises(ValueError):
        dpop.normalise_htu(uri)


# --- the proof ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["ES256", "RS256", "PS256", "EdDSA"])
def test_a_valid_proof_gives_the_key_thumbprint(algorithm):
    key = ProofKey(algorithm)
    verified = dpop.verify_proof(key.proof("POST", URL), method="POST", uri=URL)
    assert verified.jkt == key.jkt
    assert verified.algorithm == algorithm
    assert verified.claims["htm"] == "POST"


def test_htu_is_compared_normalised(es256):
    proof = es256.proof("POST", "HTTPS://SERVER.example.com:443/token")
    assert dpop.verify_proof(proof, method="POST", uri="https://server.example.com/token?ignored=1").jkt == es256.jkt


def test_wrong_htm(es256):
    refused(es256.proof("GET", URL), "htm")


def test_htm_is_case_sensitive(es256):
    refused(es256.proof("post", URL), "htm")


@pytest.mark.parametrize(
    "htu", ["https://server.example.com/other", "https://evil.example.com/token", "http://server.example.com/token",
            "https://server.example.com:8443/token", "/token", 42]
)
def test_wrong_htu(es256, htu):
    refused(es256.proof("POST", URL, htu=htu), "htu")


def test_stale_iat(es256):
    refused(es256.proof("POST", URL, iat=int(time.time()) - 301), "too old")


def test_future_iat(es256):
    refused(es256.proof("POST", URL, iat=int(time.time()) + 31), "future")


def test_iat_window_is_a_setting(es256):
    with dpop_settings(DPOP_PROOF_MAX_AGE=10, DPOP_CLOCK_SKEW=0):
        refused(es256.proof("POST", URL, iat=int(time.time()) - 12), "too old")
        refused(es256.proof("POST", URL, iat=int(time.time()) + 3), "future")
        assert dpop.verify_proof(es256.proof("POST", URL, iat=int(time.time()) - 5), method="POST", uri=URL)


@pytest.mark.parametrize("iat", ["1700000000", True, None])
def test_iat_must_be_a_number(es256, iat):
    refused(es256.proof("POST", URL, iat=iat), "iat")


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_required_claims(es256, claim):
    refused(es256.proof("POST", URL, **{claim: None}), claim)


@pytest.mark.security("S36")
def test_replayed_jti(es256):
    proof = es256.proof("POST", URL)
    dpop.verify_proof(proof, method="POST", uri=URL)
    refused(proof, "already used")


def test_same_jti_in_a_new_proof_is_a_replay(es256):
    dpop.verify_proof(es256.proof("POST", URL, jti="fixed"), method="POST", uri=URL)
    refused(es256.proof("POST", URL, jti="fixed"), "already used")


def test_jti_of_another_key_is_not_shared(es256):
    # Keyed by (thumbprint, jti): one client cannot burn another client's jtis.
    dpop.verify_proof(ProofKey("ES256").proof("POST", URL, jti="shared"), method="POST", uri=URL)
    assert dpop.verify_proof(es256.proof("POST", URL, jti="shared"), method="POST", uri=URL)


def test_an_invalid_proof_does_not_burn_its_jti(es256):
    refused(es256.proof("POST", URL, jti="j1", htm="GET"), "htm")
    assert dpop.verify_proof(es256.proof("POST", URL, jti="j1"), method="POST", uri=URL)


def test_replay_entries_outlive_the_acceptance_window():
    with dpop_settings(DPOP_PROOF_MAX_AGE=120, DPOP_CLOCK_SKEW=15):
        assert dpop.replay_window() > 135


def test_wrong_typ(es256):
    refused(es256.proof("POST", URL, header={"typ": "JWT"}), "typ")
    refused(es256.proof("POST", URL, header={"typ": None}), "typ")


def test_alg_none_is_refused(es256):
    claims = {"jti": "n1", "htm": "POST", "htu": URL, "iat": int(time.time())}
    refused(unsigned_proof(es256.public_jwk, claims), "algorithm")


def test_hs256_is_refused_even_when_allowed_by_mistake():
    claims = {"jti": "h1", "htm": "POST", "htu": URL, "iat": int(time.time())}
    refused(hs256_proof(claims), "algorithm")
    with dpop_settings(DPOP_SIGNING_ALGORITHMS=["HS256", "ES256"]):
        refused(hs256_proof(claims), "algorithm")


def test_algorithm_outside_the_allow_list():
    key = ProofKey("ES384")
    refused(key.proof("POST", URL), "algorithm")
    with dpop_settings(DPOP_SIGNING_ALGORITHMS=["ES384"]):
        assert dpop.verify_proof(key.proof("POST", URL), method="POST", uri=URL).jkt == key.jkt
        refused(ProofKey("ES256").proof("POST", URL), "algorithm")


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "k"])
@pytest.mark.security("S36")
def test_private_key_material_in_the_header_is_refused(member):
    key = ProofKey("RS256")
    private = key.private_jwk
    jwk = {**key.public_jwk, member: private.get(member, "AAAA")}
    refused(key.proof("POST", URL, header={"jwk": jwk}), "private")


def test_a_whole_private_ec_key_is_refused(es256):
    refused(es256.proof("POST", URL, header={"jwk": es256.private_jwk}), "private")


def test_signature_by_a_different_key(es256):
    other = ProofKey("ES256")
    refused(es256.proof("POST", URL, signing_key=other.key), "signature")


def test_key_type_must_fit_the_algorithm(es256):
    rsa = ProofKey("RS256")
    refused(es256.proof("POST", URL, header={"jwk": rsa.public_jwk}), "not a key for ES256")
    p384 = ProofKey("ES384")
    refused(es256.proof("POST", URL, header={"jwk": p384.public_jwk}), "not a key for ES256")


def test_missing_or_broken_jwk(es256):
    refused(es256.proof("POST", URL, header={"jwk": None}), "jwk")
    refused(es256.proof("POST", URL, header={"jwk": "abc"}), "jwk")
    broken = {**es256.public_jwk, "x": "AAAA"}
    refused(es256.proof("POST", URL, header={"jwk": broken}), "valid public key")


@pytest.mark.parametrize(
    "proof", [None, "", "abc", "a.b", "a.b.c.d", "e30.e30.", "!!.e30.sig", "x" * 9000, "bnVsbA.e30.sig"]
)
def test_malformed_proofs(proof):
    with pytest.raises(InvalidDPoPProof):
        dpop.verify_proof(proof, method="POST", uri=URL)


def test_header_must_be_a_json_object():
    header = dpop._b64url(json.dumps([1]).encode())
    refused(f"{header}.e30.c2ln", "header")


def test_more_than_one_dpop_header():
    with pytest.raises(InvalidDPoPProof, match="more than one"):
        dpop.single_proof("a.b.c, d.e.f")
    with pytest.raises(InvalidDPoPProof, match="empty"):
        dpop.single_proof("  ")
    assert dpop.single_proof(None) is None
    assert dpop.single_proof(" a.b.c ") == "a.b.c"


def test_expired_exp_claim(es256):
    refused(es256.proof("POST", URL, exp=int(time.time()) - 10), "expired")


# --- ath (resource side) ---------------------------------------------------------------------------


def test_ath_matches_the_access_token(es256):
    proof = es256.proof("GET", "https://api.example/x", access_token="tok.en")
    verified = dpop.verify_proof(proof, method="GET", uri="https://api.example/x", access_token="tok.en")
    assert verified.claims["ath"] == ath("tok.en")


def test_missing_ath(es256):
    refused(es256.proof("GET", URL), "lacks the ath", method="GET", access_token="tok.en")


def test_wrong_ath(es256):
    refused(es256.proof("GET", URL, access_token="other"), "ath does not match", method="GET", access_token="tok.en")
    refused(es256.proof("GET", URL, ath=5), "ath does not match", method="GET", access_token="tok.en")


# --- nonces (RFC 9449 §8, §9) ----------------------------------------------------------------------


def test_nonce_required_but_missing(es256):
    with pytest.raises(UseDPoPNonce) as caught:
        dpop.verify_proof(es256.proof("POST", URL), method="POST", uri=URL, require_nonce=True)
    assert caught.value.error == "use_dpop_nonce"
    assert caught.value.status_code == 400
    assert caught.value.headers["DPoP-Nonce"] == dpop.current_nonce()


def test_current_nonce_is_accepted(es256):
    proof = es256.proof("POST", URL, nonce=dpop.current_nonce())
    assert dpop.verify_proof(proof, method="POST", uri=URL, require_nonce=True).jkt == es256.jkt


def test_nonce_rotates_per_window_and_the_previous_one_still_works():
    now = 1_800_000_000
    with dpop_settings(DPOP_NONCE_LIFETIME=60):
        first = dpop.current_nonce(now)
        assert dpop.current_nonce(now + 1) == first or (now + 1) // 60 != now // 60
        later = dpop.current_nonce(now + 60)
        assert later != first
        assert dpop.nonce_is_valid(first, now + 60)
        assert not dpop.nonce_is_valid(first, now + 120)
        assert dpop.nonce_is_valid(later, now + 120)


def test_stale_or_forged_nonce_gets_a_fresh_one(es256):
    stale = dpop.current_nonce(time.time() - 3 * dpop.oauth_settings.DPOP_NONCE_LIFETIME)
    for nonce in (stale, "forged", "é" * 10):
        with pytest.raises(UseDPoPNonce, match="stale") as caught:
            dpop.verify_proof(es256.proof("POST", URL, nonce=nonce), method="POST", uri=URL, require_nonce=True)
        assert caught.value.headers["DPoP-Nonce"] == dpop.current_nonce()


def test_nonces_depend_on_the_secret():
    with dpop_settings(DPOP_NONCE_SECRET="one"):
        one = dpop.current_nonce(1000)
    with dpop_settings(DPOP_NONCE_SECRET="two"):
        two = dpop.current_nonce(1000)
    default = dpop.current_nonce(1000)
    assert len({one, two, default}) == 3


def test_a_nonce_problem_does_not_burn_the_jti(es256):
    with pytest.raises(UseDPoPNonce):
        dpop.verify_proof(es256.proof("POST", URL, jti="n"), method="POST", uri=URL, require_nonce=True)
    proof = es256.proof("POST", URL, jti="n", nonce=dpop.current_nonce())
    assert dpop.verify_proof(proof, method="POST", uri=URL, require_nonce=True)


def test_non_ascii_htu_and_ath_are_refused_not_crashing(es256):
    refused(es256.proof("POST", "https://server.example.com/tökén"), "htu")
    refused(es256.proof("GET", URL, ath="é" * 43), "ath does not match", method="GET", access_token="tok.en")
    refused(es256.proof("POST", URL, htu="https://server.example.com/token\u00a0"), "htu")


# --- fuzzing: only the documented errors escape ---------------------------------------------------


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.from_regex(r"[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}",
                                            fullmatch=True))
def test_any_header_value_is_refused_cleanly(value):
    with pytest.raises(InvalidDPoPProof):
        dpop.verify_proof(dpop.single_proof(value) if value.strip() and "," not in value else value,
                          method="POST", uri=URL)


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_htu_normalises_or_is_refused(value):
    try:
        normalised = dpop.normalise_htu(value)
    except ValueError:
        return
    assert normalised.startswith(("http://", "https://"))
    assert dpop.normalise_htu(normalised) == normalised


def test_a_replay_cache_failure_fails_the_proof_closed(es256, monkeypatch):
    class Down:
        def add(self, *args, **kwargs):
            raise ConnectionError("replay cache unreachable")

    monkeypatch.setattr(dpop, "caches", {dpop.oauth_settings.DPOP_REPLAY_CACHE: Down()})
    with pytest.raises(ConnectionError):
        dpop.verify_proof(es256.proof("POST", URL), method="POST", uri=URL)
