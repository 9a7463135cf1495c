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


# --- the comparisons go through the constant-time helper ---------------------------------------------


def _spy(monkeypatch, result=None):
    """Replace crypto.constant_time_equals with a recorder (that answers ``result``, or the real answer)."""
    calls = []
    real = crypto.constant_time_equals

    def recorder(a, b):
        calls.append((a, b))
        return real(a, b) if result is None else result

    monkeypatch.setattr(crypto, "constant_time_equals", recorder)
    return calls


def test_pkce_verification_compares_through_the_constant_time_helper(monkeypatch):
    verifier = "v" * 50
    calls = _spy(monkeypatch)
    assert crypto.pkce_matches(verifier, crypto.pkce_s256(verifier), "S256")
    assert calls == [(crypto.pkce_s256(verifier), crypto.pkce_s256(verifier))]
    assert crypto.pkce_matches(verifier, verifier, "plain")
    assert calls[-1] == (verifier, verifier)


def test_pkce_verification_uses_the_helpers_answer(monkeypatch):
    """Were the comparison made with ``==`` beside the helper, this would still pass: it must not."""
    verifier = "v" * 50
    _spy(monkeypatch, result=False)
    assert not crypto.pkce_matches(verifier, crypto.pkce_s256(verifier), "S256")


def test_the_constant_time_helper_is_hmac_compare_digest(monkeypatch):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    assert crypto.constant_time_equals("abc", "abc")
    assert not crypto.constant_time_equals("abc", "abd")
    assert crypto.matches_digest("right", crypto.digest("right"))
    assert len(calls) == 3


def test_a_code_redemption_checks_pkce_through_the_constant_time_helper(monkeypatch, db, client):
    from django.test import Client

    from tests.factories import UserFactory, WebApplicationFactory
    from tests.helpers.flows import VERIFIER, obtain_code, redeem

    app = WebApplicationFactory()
    browser = Client()
    browser.force_login(UserFactory())
    code = obtain_code(browser, app)
    calls = _spy(monkeypatch)
    assert redeem(Client(), app, code).status_code == 200
    assert (crypto.pkce_s256(VERIFIER), crypto.pkce_s256(VERIFIER)) in calls


def test_a_code_redemption_fails_when_the_constant_time_helper_says_no(monkeypatch, db):
    from django.test import Client

    from tests.factories import UserFactory, WebApplicationFactory
    from tests.helpers.flows import VERIFIER, obtain_code, redeem

    app = WebApplicationFactory()
    browser = Client()
    browser.force_login(UserFactory())
    code = obtain_code(browser, app)
    real = crypto.constant_time_equals
    expected = crypto.pkce_s256(VERIFIER)
    # Only the PKCE comparison answers no (client authentication compares digests through it too).
    monkeypatch.setattr(crypto, "constant_time_equals", lambda a, b: False if a == expected else real(a, b))
    response = redeem(Client(), app, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_secrets_and_bound_values_are_compared_only_through_the_constant_time_helper():
    """docs/SECURITY.md S4: one constant-time comparison (crypto.constant_time_equals); no module compares
    secrets, thumbprints, subjects or nonces with hmac directly (one home, and no TypeError on non-ASCII)."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "oauth_provider"
    direct = []
    for path in package.rglob("*.py"):
        if path.name == "crypto.py" and path.parent == package:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "compare_digest":
                direct.append(f"{path.relative_to(package)}:{node.lineno}")
    assert direct == []
