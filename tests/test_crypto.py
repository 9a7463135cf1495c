from oauth_provider import crypto


def test_generated_secrets_carry_256_bits_and_differ():
    a, b = crypto.generate_secret(), crypto.generate_secret()
    assert a != b
    assert len(a) >= 43  # 32 bytes in base64url


def test_digest_is_hex_sha256_and_recognised():
    value = crypto.digest("s3cret")
    assert len(value) == 64 and crypto.is_digest(value)
    assert not crypto.is_digest("s3cret")


def test_matches_digest_accepts_only_the_right_secret():
    stored = crypto.digest("right")
    assert crypto.matches_digest("right", stored)
    assert not crypto.matches_digest("wrong", stored)
    assert not crypto.matches_digest("right", "")


def test_pkce_s256_matches_rfc7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert crypto.pkce_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert crypto.pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256")


def test_pkce_rejects_wrong_verifier_short_verifier_and_unknown_method():
    challenge = crypto.pkce_s256("a" * 43)
    assert not crypto.pkce_matches("b" * 43, challenge, "S256")
    assert not crypto.pkce_matches("a" * 42, crypto.pkce_s256("a" * 42), "S256")
    assert not crypto.pkce_matches("a" * 43, challenge, "S512")
    assert crypto.pkce_matches("a" * 43, "a" * 43, "plain")
