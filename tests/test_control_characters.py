"""A control character appended to (or put inside) any validated value is refused (docs/SECURITY.md S30).

The attack: a pattern ending in ``$`` matches before a final newline, so ``<valid>\\n`` passed as valid
(``redirect_uri=http://127.0.0.1:9999/cb%0A``, a PKCE challenge, a scope token). Every check is a full
match now, and control characters (C0, DEL, C1, U+2028, U+2029) are refused outright. The pure checks
are property tests; the endpoints are driven with each of the characters the review used.
"""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from oauth_provider import crypto
from oauth_provider.endpoints.device import normalise_user_code
from oauth_provider.http import has_control_character
from oauth_provider.redirect_uris import redirect_uri_matches, validate_redirect_uri
from oauth_provider.scopes import SCOPE_TOKEN, parse_scope
from tests.factories import PublicApplicationFactory
from tests.helpers.flows import VERIFIER, authorize_url, query_of

# The characters of the review, then every control character and line separator Unicode has.
REVIEWED = ["\n", "\r", "\t", "\x00", "\x0b", "\x0c", "\x85", "\u2028"]
control_characters = st.sampled_from(REVIEWED) | st.characters(categories=["Cc", "Zl", "Zp"])

REDIRECT_URIS = [
    "https://client.example.test/callback",
    "https://client.example.test/cb?x=1",
    "http://127.0.0.1:9999/demo/callback/",
    "http://[::1]/cb",
    "com.example.app:/callback",
]
VALID_VERIFIER = "a" * 43
USER_CODE = "BCDF-GHJK"


def spliced(value: str, char: str, where: int) -> str:
    """``value`` with ``char`` put at one of: the end, the start, the middle."""
    position = (len(value), 0, len(value) // 2)[where % 3]
    return value[:position] + char + value[position:]


def test_the_valid_values_are_valid():
    """The baseline, so that each refusal below is the control character's doing."""
    for uri in REDIRECT_URIS:
        validate_redirect_uri(uri)
        assert redirect_uri_matches(uri, uri)
    assert crypto.is_pkce_value(VALID_VERIFIER) and crypto.pkce_matches(
        VALID_VERIFIER, crypto.pkce_s256(VALID_VERIFIER), "S256")
    assert parse_scope("read write") == ["read", "write"]
    assert normalise_user_code(USER_CODE) == "BCDFGHJK"
    assert crypto.is_digest(crypto.digest("x"))


@pytest.mark.security("S30")
@given(char=control_characters, where=st.integers(0, 2), uri=st.sampled_from(REDIRECT_URIS))
def test_a_redirect_uri_with_a_control_character_is_refused_and_matches_nothing(char, where, uri):
    tampered = spliced(uri, char, where)
    with pytest.raises(ValidationError):
        validate_redirect_uri(tampered)
    assert not redirect_uri_matches(tampered, uri)


@pytest.mark.security("S30")
@given(char=control_characters, where=st.integers(0, 2))
def test_a_pkce_value_with_a_control_character_is_refused(char, where):
    verifier = spliced(VALID_VERIFIER, char, where)
    assert not crypto.is_pkce_value(verifier)
    assert not crypto.pkce_matches(verifier, crypto.pkce_s256(VALID_VERIFIER), "S256")
    assert not crypto.pkce_matches(verifier, verifier, "plain")


@pytest.mark.security("S30")
@given(char=control_characters, where=st.integers(0, 2))
def test_a_scope_token_with_a_control_character_is_refused(char, where):
    token = spliced("read", char, where)
    assert SCOPE_TOKEN.fullmatch(token) is None
    with pytest.raises(ValueError):
        parse_scope(token)


@pytest.mark.security("S30")
@given(char=control_characters, where=st.integers(0, 2))
def test_a_user_code_with_a_control_character_is_refused(char, where):
    assert normalise_user_code(spliced(USER_CODE, char, where)) is None


@given(char=control_characters, where=st.integers(0, 2))
def test_a_digest_with_a_control_character_is_no_digest(char, where):
    assert not crypto.is_digest(spliced(crypto.digest("x"), char, where))


@given(char=control_characters)
def test_has_control_character_sees_every_one(char):
    assert has_control_character("abc" + char)


def test_has_control_character_accepts_ordinary_text():
    assert not has_control_character("a b+c/%25&é ü 日本")


# --- at the endpoints -----------------------------------------------------------------------------


@pytest.fixture
def loopback_app(db):
    return PublicApplicationFactory(redirect_uris="http://127.0.0.1:9999/demo/callback/")


@pytest.mark.django_db
@pytest.mark.security("S30")
@pytest.mark.parametrize("char", REVIEWED)
def test_a_loopback_redirect_uri_with_a_trailing_control_character_is_not_registered(user_client, loopback_app,
                                                                                     char):
    response = user_client.get(authorize_url(loopback_app, redirect_uri="http://127.0.0.1:1234/demo/callback/" + char))
    assert response.status_code == 400
    assert "Location" not in response


@pytest.mark.django_db
@pytest.mark.security("S30")
@pytest.mark.parametrize("char", REVIEWED)
def test_a_code_challenge_with_a_control_character_is_refused(user_client, loopback_app, char):
    response = user_client.get(authorize_url(loopback_app, code_challenge=crypto.pkce_s256(VERIFIER) + char))
    assert response.status_code == 302  # at the verified redirect URI
    assert query_of(response["Location"])["error"] == "invalid_request"


@pytest.mark.django_db
@pytest.mark.security("S30")
@pytest.mark.parametrize("char", REVIEWED)
def test_a_scope_with_a_control_character_is_refused(user_client, loopback_app, char):
    response = user_client.get(authorize_url(loopback_app, scope="read" + char))
    assert query_of(response["Location"])["error"] in ("invalid_scope", "invalid_request")


@pytest.mark.django_db
@pytest.mark.security("S30")
@pytest.mark.parametrize("char", REVIEWED)
def test_a_state_with_a_control_character_is_refused_and_not_echoed(user_client, loopback_app, char):
    response = user_client.get(authorize_url(loopback_app, state="xyz" + char))
    params = query_of(response["Location"])
    assert params["error"] == "invalid_request"
    assert "state" not in params


@pytest.mark.django_db
@pytest.mark.security("S30")
@pytest.mark.parametrize("char", REVIEWED)
def test_a_client_id_with_a_control_character_is_an_unknown_client(user_client, loopback_app, char):
    response = user_client.get(authorize_url(loopback_app, client_id=loopback_app.client_id + char))
    assert response.status_code == 400
    assert "Location" not in response


@pytest.mark.django_db
@pytest.mark.security("S30")
@pytest.mark.parametrize("char", REVIEWED)
def test_registration_refuses_a_redirect_uri_with_a_control_character(client, settings, char):
    import json

    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "REGISTRATION_MODE": "open"}
    body = {"redirect_uris": ["https://client.example.test/cb" + char], "token_endpoint_auth_method": "none"}
    response = client.post("/oauth/register/", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    # NUL is refused by the JSON body parser (invalid_request), the others by the redirect URI rule.
    assert response.json()["error"] in ("invalid_redirect_uri", "invalid_request")


# --- no pattern in the package can match only a prefix ------------------------------------------------


def _package_sources():
    from pathlib import Path

    import oauth_provider

    root = Path(oauth_provider.__file__).parent
    return [path for path in root.rglob("*.py") if "migrations" not in path.parts]


@pytest.mark.security("S30")
def test_the_package_uses_no_prefix_match_and_no_dollar_anchor():
    """``re.match``/``pattern.match`` accept a valid prefix; ``$`` matches before a final newline."""
    import ast

    found = []
    for path in _package_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "match":
                found.append(f"{path.name}:{node.lineno} .match()")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
                    and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("compile", "re_path")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and "$" in node.args[0].value.replace("\\$", "")):
                found.append(f"{path.name}:{node.lineno} pattern with $")
    assert found == []


def test_the_well_known_metadata_path_refuses_a_trailing_newline(client, db):
    assert client.get("/.well-known/oauth-authorization-server").status_code == 200
    assert client.get("/.well-known/oauth-authorization-server%0A").status_code == 404
