"""Property-based tests (hypothesis): bad input of any shape gets a clean 4xx, never a 500 and never a write.

Every endpoint is fed random, missing, repeated, oversized and wrongly encoded parameters
(invalid UTF-8, NUL bytes, percent-encoding garbage), odd content types and methods; the resource
side gets malformed ``Authorization`` headers and forged JWTs. After each example the rows of
AccessToken, RefreshToken, AuthorizationCode and Consent are counted: none may change.
"""

import base64
import json
import re
from urllib.parse import quote_from_bytes

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oauth_provider.crypto import pkce_s256
from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import AccessToken, AuthorizationCode, Consent, RefreshToken
from tests.factories import ApplicationFactory, UserFactory, WebApplicationFactory
from tests.helpers.flows import basic_auth

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TOKEN_ERRORS = {
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
    "unsupported_grant_type", "invalid_scope",
    "invalid_target",  # RFC 8707 §2: a resource parameter the server does not serve
}
PARAMETER_NAMES = [
    "grant_type", "client_id", "client_secret", "code", "redirect_uri", "code_verifier", "refresh_token",
    "scope", "username", "password", "response_type", "state", "code_challenge", "code_challenge_method",
    "decision", "device_code", "access_token", "resource", "nonce",
]
GRANT_TYPES = [
    "client_credentials", "authorization_code", "refresh_token", "password", "implicit",
    "urn:ietf:params:oauth:grant-type:device_code", "", "CLIENT_CREDENTIALS", "client_credentials\x00",
]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
    "application/x-www-form-urlencoded; charset=latin-1", "APPLICATION/X-WWW-FORM-URLENCODED",
    "application/json", "multipart/form-data; boundary=xyz", "multipart/form-data", "text/plain", "",
    "application/x-www-form-urlencoded; charset=nonsense-9", "*/*",
]


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # Hundreds of requests from one address in one test: the limits have their own tests.
    settings.OAUTH_PROVIDER = {
        **settings.OAUTH_PROVIDER, "CLIENT_AUTH_MAX_FAILURES": None, "CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS": None,
    }


def row_counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (AccessToken, RefreshToken, AuthorizationCode, Consent))


# --- strategies ---------------------------------------------------------------------------------

# Text with the awkward characters: NUL, controls, surrogate-free non-ASCII, '&', '=', '%', '+'.
awkward_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from("\x00&=%+ #;\r\n"),
    max_size=40,
)
values = st.one_of(
    awkward_text,
    st.sampled_from(GRANT_TYPES),
    st.integers(min_value=1, max_value=5000).map(lambda n: "x" * n),  # oversized past 2048
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
)
names = st.one_of(st.sampled_from(PARAMETER_NAMES), awkward_text, st.just("x" * 300))


def percent_garbage() -> st.SearchStrategy[bytes]:
    """Raw query/body bytes: broken escapes (%, %G1, %FF invalid UTF-8, %00), bare bytes, separators."""
    pieces = st.one_of(
        st.sampled_from([b"%", b"%G1", b"%FF", b"%C3%28", b"%00", b"%ZZ", b"&", b"=", b"==", b"&&", b"+", b";"]),
        st.binary(max_size=12),
        st.sampled_from([name.encode() for name in PARAMETER_NAMES]),
    )
    return st.lists(pieces, max_size=20).map(b"".join)


def encode_pairs(pairs: list[tuple[str, str]]) -> bytes:
    """Form-encode (name, value) pairs, repeats kept; surrogate-free text always encodes."""
    return b"&".join(
        quote_from_bytes(name.encode("utf-8", "surrogatepass")).encode()
        + b"="
        + quote_from_bytes(value.encode("utf-8", "surrogatepass")).encode()
        for name, value in pairs
    )


form_pairs = st.lists(st.tuples(names, values), max_size=8)
bodies = st.one_of(form_pairs.map(encode_pairs), percent_garbage(), st.binary(max_size=200))


def basic_header(user_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user_id}:{secret}".encode("utf-8", "surrogatepass")).decode()


latin1_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=60)


# --- the token endpoint -------------------------------------------------------------------------


def assert_rfc_error(response, allowed: set[str] = TOKEN_ERRORS) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = json.loads(response.content)
    assert body["error"] in allowed
    assert set(body) <= {"error", "error_description"}
    assert isinstance(body.get("error_description", ""), str)


@pytest.fixture
def token_setup(db):
    get_signing_key()
    return ApplicationFactory(), WebApplicationFactory()


def authorization_headers(app, web) -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        latin1_text,
        st.sampled_from(["Basic", "Basic ", "Bearer abc", "basic !!!!", "Basic =====", "Digest x"]),
        st.tuples(awkward_text, awkward_text).map(lambda pair: basic_header(*pair)),
        # Valid credentials with everything else random: the grants must refuse cleanly.
        st.just(basic_auth(web.client_id, web.secret)),
    )


@FUZZ
@given(data=st.data())
def test_token_endpoint_answers_any_body_with_an_rfc_error_and_writes_nothing(token_setup, data):
    app, web = token_setup
    body = data.draw(bodies)
    content_type = data.draw(st.sampled_from(CONTENT_TYPES))
    authorization = data.draw(authorization_headers(app, web))
    query = data.draw(st.one_of(st.just(b""), percent_garbage()))
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    before = row_counts()
    response = Client().generic(
        "POST", "/oauth/token/?" + query.decode("latin-1"), data=body, content_type=content_type, **extra
    )
    assert_rfc_error(response)
    assert row_counts() == before


@FUZZ
@given(
    pairs=st.lists(st.tuples(st.sampled_from(PARAMETER_NAMES), values), max_size=6),
    grant_type=st.sampled_from(GRANT_TYPES[1:]),
    repeat=st.booleans(),
)
def test_token_requests_of_an_authenticated_client_with_random_grant_parameters_fail_cleanly(
    token_setup, pairs, grant_type, repeat
):
    _, web = token_setup
    all_pairs = [("grant_type", grant_type), *pairs] + ([("grant_type", grant_type)] if repeat else [])
    before = row_counts()
    response = Client().post(
        "/oauth/token/", data=encode_pairs(all_pairs), content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(web.client_id, web.secret),
    )
    assert_rfc_error(response)
    assert row_counts() == before


@FUZZ
@given(method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "HEAD", "TRACE", "FOO", "CONNECT"]), body=bodies)
def test_token_endpoint_answers_other_methods_with_405_invalid_request(token_setup, method, body):
    before = row_counts()
    response = Client().generic(method, "/oauth/token/", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 405
    if method != "HEAD":
        assert json.loads(response.content)["error"] == "invalid_request"
    assert row_counts() == before


# --- the authorization endpoint -----------------------------------------------------------------


@pytest.fixture
def authorize_setup(db):
    web = WebApplicationFactory()
    browser = Client()
    browser.force_login(UserFactory())
    return web, browser


def authorize_query(web) -> st.SearchStrategy[bytes]:
    """Valid parameters with random ones mixed in, dropped, repeated or replaced; or pure garbage."""
    valid = {
        "response_type": "code", "client_id": web.client_id, "redirect_uri": web.redirect_uri_list[0],
        "scope": "read", "state": "s", "code_challenge": pkce_s256("v" * 50), "code_challenge_method": "S256",
    }

    @st.composite
    def mutated(draw):
        pairs = [(k, v) for k, v in valid.items() if draw(st.booleans()) or k == "client_id"]
        pairs += draw(st.lists(st.tuples(names, values), max_size=4))
        if draw(st.booleans()) and pairs:
            pairs.append(draw(st.sampled_from(pairs)))
        return encode_pairs(pairs)

    return st.one_of(mutated(), percent_garbage(), form_pairs.map(encode_pairs))


def assert_safe_authorize_answer(response, web) -> None:
    assert response.status_code in (200, 302, 303, 400, 405), (response.status_code, response.content[:300])
    if response.status_code in (302, 303):
        location = response["Location"]
        # Never an open redirect: only the login page or the client's registered redirect URI.
        assert location.startswith("/accounts/login/") or location.startswith(web.redirect_uri_list[0] + "?")
        if location.startswith(web.redirect_uri_list[0]):
            assert "error=" in location
    if response.status_code == 400:
        assert response["Referrer-Policy"] == "same-origin"  # no referrer leaves the origin


@FUZZ
@given(data=st.data())
def test_authorize_get_with_any_query_never_fails_redirects_elsewhere_or_writes(authorize_setup, data):
    web, browser = authorize_setup
    query = data.draw(authorize_query(web))
    who = data.draw(st.sampled_from([browser, Client()]))
    before = row_counts()
    response = who.get("/oauth/authorize/?" + query.decode("latin-1"))
    assert_safe_authorize_answer(response, web)
    if response.status_code in (302, 303) and "error=" not in response["Location"]:
        assert response["Location"].startswith("/accounts/login/")
    assert row_counts() == before


@FUZZ
@given(data=st.data())
def test_authorize_post_with_anything_but_allow_never_fails_or_writes(authorize_setup, data):
    web, browser = authorize_setup
    query = data.draw(authorize_query(web))
    body = data.draw(bodies)
    content_type = data.draw(st.sampled_from(CONTENT_TYPES))
    if b"allow" in body:
        body = body.replace(b"allow", b"al-low")
    before = row_counts()
    response = browser.generic(
        "POST", "/oauth/authorize/?" + query.decode("latin-1"), data=body, content_type=content_type
    )
    assert_safe_authorize_answer(response, web)
    assert row_counts() == before


@FUZZ
@given(method=st.sampled_from(["PUT", "PATCH", "DELETE", "TRACE", "FOO"]))
def test_authorize_answers_other_methods_with_405(authorize_setup, method):
    web, browser = authorize_setup
    response = browser.generic(method, "/oauth/authorize/?client_id=" + web.client_id)
    assert response.status_code == 405


# --- metadata and JWKS --------------------------------------------------------------------------


@FUZZ
@given(
    path=st.sampled_from(["/oauth/jwks/", "/.well-known/oauth-authorization-server"])
    | percent_garbage().map(lambda raw: "/.well-known/oauth-authorization-server/" + raw.decode("latin-1")),
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
    query=percent_garbage(),
)
def test_metadata_and_jwks_answer_any_request_without_a_server_error(token_setup, path, method, query):
    before = row_counts()
    response = Client().generic(method, path + "?" + query.decode("latin-1"))
    assert response.status_code in (200, 404, 405), response.status_code
    if response.status_code == 200 and method == "GET":
        assert json.loads(response.content)
    assert row_counts() == before


# --- the resource side --------------------------------------------------------------------------


def decoded_segments(token: str) -> list[bytes] | None:
    """The bytes of each base64url segment; None unless every character is in the base64url alphabet."""
    if not all(re.fullmatch(r"[A-Za-z0-9_-]*", part) for part in token.split(".")):
        return None
    try:
        return [base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in token.split(".")]
    except ValueError:
        return None


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | awkward_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(awkward_text, children, max_size=3),
    max_leaves=6,
)
jwt_headers = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["none", "None", "HS256", "RS256", "ES256", "EdDSA", "PS256", ""]) | awkward_text,
        "typ": st.sampled_from(["at+jwt", "JWT", "application/at+jwt"]) | awkward_text,
        "kid": awkward_text,
        "jku": st.just("http://127.0.0.1:1/jwks"),
        "x5u": st.just("http://127.0.0.1:1/x5u"),
        "crit": st.lists(awkward_text, max_size=2),
    },
)
jwt_claims = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.just("http://testserver") | awkward_text,
        "aud": st.just("http://testserver") | json_values,
        "exp": json_values,
        "iat": json_values,
        "nbf": json_values,
        "sub": json_values,
        "scope": json_values,
        "client_id": json_values,
        "jti": json_values,
    },
)


def segment(strategy) -> st.SearchStrategy[str]:
    return strategy.map(lambda value: b64url(json.dumps(value).encode()))


forged_jwts = st.one_of(
    st.tuples(segment(jwt_headers), segment(jwt_claims), st.binary(max_size=64).map(b64url)).map(".".join),
    st.tuples(segment(jwt_headers), segment(jwt_claims)).map(lambda parts: ".".join(parts) + "."),
    st.lists(st.binary(max_size=20).map(b64url), min_size=1, max_size=6).map(".".join),
    st.text(alphabet="ABCabc0123456789-._~+/=", max_size=80),
)
authorization_values = st.one_of(
    forged_jwts.map(lambda token: "Bearer " + token),
    st.tuples(st.sampled_from(["Bearer", "bearer", "BEARER", "Bearer  ", "Bearer\t", "Basic", "Token", ""]),
              latin1_text).map(" ".join),
    latin1_text,
)


@FUZZ
@given(authorization=authorization_values, path=st.sampled_from(["/api/me", "/api/notes/", "/api/ping"]))
def test_resource_side_refuses_any_malformed_authorization_with_a_bearer_error(token_setup, authorization, path):
    before = row_counts()
    response = Client().get(path, HTTP_AUTHORIZATION=authorization)
    assert response.status_code in (200, 400, 401), (response.status_code, response.content[:300])
    if response.status_code == 200:
        # Only the public ping answers without a token.
        assert path == "/api/ping"
    else:
        assert response["WWW-Authenticate"].startswith("Bearer ")
        # RFC 6750 §3.1: no error code when the request carried no bearer credentials at all.
        assert json.loads(response.content).get("error", "none") in ("invalid_request", "invalid_token", "none")
    assert row_counts() == before


@FUZZ
@given(position=st.integers(min_value=0), replacement=st.sampled_from("AZaz09-_.=+/"))
def test_resource_side_refuses_every_one_character_change_of_a_valid_token(token_setup, position, replacement):
    app, _ = token_setup
    token = Client().post(
        "/oauth/token/", data="grant_type=client_credentials", content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(app.client_id, app.secret),
    ).json()["access_token"]
    index = position % len(token)
    tampered = token[:index] + replacement + token[index + 1:]
    response = Client().get("/api/me", HTTP_AUTHORIZATION="Bearer " + tampered)
    if tampered == token:
        assert response.status_code == 200
    else:
        # Every other string is refused, even one that decodes to the same signature bytes (only the unused
        # low bits of its final base64url character changed): PyJWT accepts only the canonical encoding
        # (RFC 4648 §3.5), so a token has exactly one spelling.
        assert response.status_code in (400, 401), response.status_code


@FUZZ
@given(token=forged_jwts | awkward_text)
def test_the_validator_raises_only_invalid_token_for_any_string(token_setup, token):
    from oauth_provider.errors import InvalidToken
    from oauth_provider.resource.validator import get_validator

    with pytest.raises(InvalidToken):
        get_validator().validate(token)


@FUZZ
@given(body=bodies, content_type=st.sampled_from(CONTENT_TYPES), authorization=st.none() | authorization_values)
def test_resource_side_answers_any_posted_body_without_a_server_error(token_setup, body, content_type, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    before = row_counts()
    response = Client().generic("POST", "/api/notes/", data=body, content_type=content_type, **extra)
    assert response.status_code in (400, 401), (response.status_code, response.content[:300])
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert row_counts() == before


# --- registration (RFC 7591) and client configuration (RFC 7592) bodies --------------------------

REGISTRATION_ERRORS = {"invalid_request", "invalid_client_metadata", "invalid_redirect_uri"}
METADATA_MEMBERS = [
    "client_name", "redirect_uris", "grant_types", "response_types", "token_endpoint_auth_method", "scope",
    "client_uri", "logo_uri", "tos_uri", "policy_uri", "contacts", "software_id", "software_version",
    "client_id", "client_secret",
]
BASE_METADATA = {"client_name": "Fuzzed", "redirect_uris": ["https://fuzz.example.test/cb"],
                 "token_endpoint_auth_method": "none"}
# Strings no database stores: NUL anywhere, lone surrogates (as JSON escapes they parse to such str).
poison = st.sampled_from(["\x00", "a\x00b", "\ud800", "\udfff", "x\udc80y"])
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), awkward_text, poison)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.one_of(st.sampled_from(METADATA_MEMBERS), poison), inner, max_size=5),
                           max_leaves=20)


def json_bytes(value) -> bytes:
    """JSON text with lone surrogates written as \\uD800 escapes (what an attacker sends), as UTF-8."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")


def assert_registration_error(response) -> None:
    assert_rfc_error(response, REGISTRATION_ERRORS)
    assert response.status_code == 400


@pytest.fixture
def registration_setup(db, settings):
    # Hypothesis registers hundreds of clients from one address: lift open registration's per-address budget.
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "REGISTRATION_MODE": "open",
                               "OPEN_REGISTRATIONS_PER_ADDRESS": None}
    response = Client().post("/oauth/register/", data=json.dumps(BASE_METADATA), content_type="application/json")
    assert response.status_code == 201
    return response.json()


def configure(info, method: str, body: bytes):
    path = info["registration_client_uri"].removeprefix("http://testserver")
    return getattr(Client(), method)(path, data=body, content_type="application/json",
                                     HTTP_AUTHORIZATION=f"Bearer {info['registration_access_token']}")


def client_rows() -> tuple:
    from oauth_provider.models import Application

    return tuple(Application.objects.order_by("pk").values_list("pk", "name", "redirect_uris", "metadata"))


@FUZZ
@given(member=st.sampled_from(METADATA_MEMBERS), value=json_values)
def test_registration_with_any_member_value_never_fails_with_a_server_error(registration_setup, member, value):
    before = client_rows()
    response = Client().post("/oauth/register/", data=json_bytes({**BASE_METADATA, member: value}),
                             content_type="application/json")
    assert response.status_code in (201, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert_registration_error(response)
        assert client_rows() == before


@FUZZ
@given(body=json_values)
def test_registration_with_any_json_body_never_fails_with_a_server_error(registration_setup, body):
    response = Client().post("/oauth/register/", data=json_bytes(body), content_type="application/json")
    assert response.status_code in (201, 400), (response.status_code, response.content[:300])


@FUZZ
@given(member=st.sampled_from(METADATA_MEMBERS), value=json_values)
def test_an_update_with_any_member_value_never_fails_with_a_server_error(registration_setup, member, value):
    body = {**BASE_METADATA, "client_id": registration_setup["client_id"], member: value}
    before = client_rows()
    response = configure(registration_setup, "put", json_bytes(body))
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert_registration_error(response)
        assert client_rows() == before
    else:
        # The token rotated: keep the fixture's information usable for the next example.
        registration_setup["registration_access_token"] = response.json()["registration_access_token"]


@pytest.mark.security("S25")
@pytest.mark.parametrize("member", ["client_name", "software_id", "software_version", "client_uri"])
@pytest.mark.parametrize("poisoned", ["bad\x00name", "bad\ud800name"])
def test_registration_refuses_nul_and_lone_surrogates_in_string_members(registration_setup, member, poisoned):
    before = client_rows()
    response = Client().post("/oauth/register/", data=json_bytes({**BASE_METADATA, member: poisoned}),
                             content_type="application/json")
    assert_registration_error(response)
    assert client_rows() == before


@pytest.mark.parametrize("poisoned", ["https://fuzz.example.test/cb\x00", "https://fuzz.example.test/\ud800"])
def test_registration_refuses_nul_and_lone_surrogates_in_redirect_uris(registration_setup, poisoned):
    response = Client().post("/oauth/register/", data=json_bytes({**BASE_METADATA, "redirect_uris": [poisoned]}),
                             content_type="application/json")
    assert_registration_error(response)


def test_a_member_name_with_a_lone_surrogate_is_refused(registration_setup):
    response = Client().post("/oauth/register/", data=json_bytes({**BASE_METADATA, "\ud800": "x"}),
                             content_type="application/json")
    assert_registration_error(response)


def test_raw_surrogate_bytes_are_refused(registration_setup):
    body = b'{"client_name": "\xed\xa0\x80", "redirect_uris": ["https://fuzz.example.test/cb"]}'
    assert_registration_error(Client().post("/oauth/register/", data=body, content_type="application/json"))


@pytest.mark.security("S25")
@pytest.mark.parametrize("depth", [9, 50, 5000, 200_000])
def test_deeply_nested_bodies_are_refused(registration_setup, depth):
    body = b'{"client_name": "x", "software_id": ' + b"[" * depth + b"]" * depth + b"}"
    if len(body) > 64 * 1024:
        body = b'{"x": ' + b"[" * 30000 + b"]" * 30000 + b"}"
    response = Client().post("/oauth/register/", data=body, content_type="application/json")
    assert_registration_error(response)
    response = configure(registration_setup, "put", body)
    assert_registration_error(response)


def test_nesting_within_the_bound_is_fine(registration_setup):
    nested = {"a": {"b": {"c": [[["x"]]]}}}
    response = Client().post("/oauth/register/", data=json_bytes({**BASE_METADATA, "unknown": nested}),
                             content_type="application/json")
    assert response.status_code == 201


@pytest.mark.security("S25")
@pytest.mark.parametrize("member", ["redirect_uris", "contacts", "grant_types", "response_types", "unknown"])
def test_huge_arrays_are_refused(registration_setup, member):
    huge = ["https://fuzz.example.test/cb"] * 100_000
    response = Client().post("/oauth/register/", data=json_bytes({**BASE_METADATA, member: huge}),
                             content_type="application/json")
    assert_registration_error(response)


def test_large_arrays_within_the_size_bound_get_a_metadata_error(registration_setup):
    many = [f"https://fuzz.example.test/cb{i}" for i in range(500)]
    response = Client().post("/oauth/register/", data=json_bytes({**BASE_METADATA, "redirect_uris": many}),
                             content_type="application/json")
    assert_registration_error(response)
    assert response.json()["error"] == "invalid_redirect_uri"


@pytest.mark.parametrize("body", [b'{"client_name": NaN}', b'{"client_name": Infinity}', b"\xff\xfe{}", b'"\\ud800"'])
def test_non_json_constants_and_bad_encodings_are_invalid_request(registration_setup, body):
    response = Client().post("/oauth/register/", data=body, content_type="application/json")
    assert_registration_error(response)
    assert response.json()["error"] == "invalid_request"


def test_an_update_whose_client_secret_is_a_lone_surrogate_is_refused(registration_setup):
    body = {**BASE_METADATA, "client_id": registration_setup["client_id"], "client_secret": "\ud800"}
    assert_registration_error(configure(registration_setup, "put", json_bytes(body)))
