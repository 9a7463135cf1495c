"""Interoperability: real relying-party libraries against a live OpenID Provider.

- Authlib's OIDC support (``authlib.oidc.core.CodeIDToken``: iss, aud, azp, exp, iat, nonce, at_hash)
  runs discovery, the code flow with PKCE and a nonce, UserInfo, a refresh and RP-initiated logout.
- joserfc, independently, applies the whole OpenID Connect Core §3.1.3.7 rule list to ID Tokens
  signed with each algorithm a client can register.
"""

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey
from authlib.jose import jwt as authlib_jwt
from authlib.jose.errors import InvalidClaimError, MissingClaimError
from authlib.oidc.core import CodeIDToken
from joserfc import errors as joserfc_errors
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import KeySet

from oauth_provider.models import SubjectType
from tests.factories import ApplicationFactory, OpenIDApplicationFactory, UserFactory
from tests.helpers.live import log_in_and_consent_in

REDIRECT_URI = "https://rp.example.test/callback"
LOGGED_OUT = "https://rp.example.test/logged-out"

pytestmark = pytest.mark.django_db(transaction=True)


def discover(issuer: str) -> dict:
    config = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert config["issuer"] == issuer
    return config


def rp_app(**kwargs):
    return OpenIDApplicationFactory(redirect_uris=REDIRECT_URI, post_logout_redirect_uris=LOGGED_OUT, **kwargs)


def sign_in(browser, config, app, user, *, scope="openid profile email", nonce=None, **extra):
    """Authlib builds the request; requests plays the browser. Returns (session, token, nonce)."""
    session = OAuth2Session(app.client_id, app.secret, scope=scope, redirect_uri=REDIRECT_URI,
                            code_challenge_method="S256")
    verifier = generate_token(48)
    nonce = nonce or generate_token(20)
    url, _ = session.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier,
                                              nonce=nonce, **extra)
    location = log_in_and_consent_in(browser, url, user.username)
    token = session.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    return session, token, nonce


def authlib_claims(config, token, app, nonce):
    keys = JsonWebKey.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())
    claims = authlib_jwt.decode(
        token["id_token"], keys, claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "values": [config["issuer"]]}},
        claims_params={"nonce": nonce, "client_id": app.client_id, "access_token": token["access_token"]},
    )
    claims.validate()
    return claims


def test_authlib_relying_party_signs_in_calls_userinfo_refreshes_and_logs_out(live_issuer):
    config = discover(live_issuer)
    app, user = rp_app(), UserFactory(first_name="Ada", last_name="Lovelace")
    with requests.Session() as browser:
        session, token, nonce = sign_in(browser, config, app, user)
        assert token["scope"] == "openid profile email"
        claims = authlib_claims(config, token, app, nonce)
        assert claims["sub"] == str(user.pk)
        assert claims["nonce"] == nonce
        assert claims["azp"] == app.client_id
        assert abs(claims["auth_time"] - time.time()) < 60

        info = session.get(config["userinfo_endpoint"], timeout=10).json()
        assert info["sub"] == claims["sub"]
        assert info["name"] == "Ada Lovelace"
        assert info["email"] == user.email

        refreshed = session.refresh_token(config["token_endpoint"], refresh_token=token["refresh_token"])
        # §12.2: same sub and auth_time, a new iat, no nonce.
        keys = JsonWebKey.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())
        again = authlib_jwt.decode(
            refreshed["id_token"], keys, claims_cls=CodeIDToken,
            claims_options={"iss": {"values": [config["issuer"]]}, "nonce": {"essential": False}},
            claims_params={"client_id": app.client_id, "access_token": refreshed["access_token"]},
        )
        again.validate()
        assert (again["sub"], again["auth_time"], again["aud"]) == (claims["sub"], claims["auth_time"], claims["aud"])
        assert "nonce" not in again

        logout = browser.get(config["end_session_endpoint"], params={
            "id_token_hint": token["id_token"], "post_logout_redirect_uri": LOGGED_OUT, "state": "bye"},
            allow_redirects=False, timeout=10)
        assert logout.status_code == 302
        assert logout.headers["Location"] == LOGGED_OUT + "?state=bye"
        # The provider's session is over: prompt=none now answers login_required at the redirect URI.
        url, state = session.create_authorization_url(config["authorization_endpoint"], prompt="none",
                                                      nonce=generate_token(20), code_verifier=generate_token(48))
        answer = browser.get(url, allow_redirects=False, timeout=10)
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert query["error"] == ["login_required"]
        assert query["state"] == [state]
        assert query["iss"] == [live_issuer]
        session.close()


@pytest.mark.security("S32")
def test_authlib_refuses_an_id_token_with_another_nonce(live_issuer):
    config = discover(live_issuer)
    app = rp_app()
    with requests.Session() as browser:
        session, token, _nonce = sign_in(browser, config, app, UserFactory())
        with pytest.raises((InvalidClaimError, joserfc_errors.InvalidClaimError)):
            authlib_claims(config, token, app, "another-nonce")
        session.close()


def test_without_a_nonce_the_code_flow_id_token_has_none(live_issuer):
    """Core §3.1.2.1: nonce is optional in the code flow; without one the ID Token has none, and Authlib
    accepts that when it sent none (with one it insists: the test above)."""
    config = discover(live_issuer)
    app = rp_app()
    session = OAuth2Session(app.client_id, app.secret, scope="openid", redirect_uri=REDIRECT_URI,
                            code_challenge_method="S256")
    verifier = generate_token(48)
    url, _ = session.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier)
    with requests.Session() as browser:
        location = log_in_and_consent_in(browser, url, UserFactory().username)
    token = session.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    keys = JsonWebKey.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())
    claims = authlib_jwt.decode(token["id_token"], keys, claims_cls=CodeIDToken,
                                claims_params={"client_id": app.client_id, "nonce": None})
    claims.validate()
    assert "nonce" not in claims
    # An RP that did send a nonce refuses this token: it must come back.
    strict = authlib_jwt.decode(token["id_token"], keys, claims_cls=CodeIDToken,
                                claims_params={"client_id": app.client_id, "nonce": "sent-one"})
    with pytest.raises((MissingClaimError, joserfc_errors.MissingClaimError)):
        strict.validate()
    session.close()


def _half_hash(value: str, alg: str) -> str:
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def validate_core_3_1_3_7(id_token: str, *, config: dict, client_id: str, alg: str, nonce: str,
                          access_token: str, max_age: int | None = None) -> dict:
    """OpenID Connect Core §3.1.3.7, rule by rule, with joserfc (rules 1 and 14 concern encryption and acr)."""
    keys = KeySet.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())
    # 6, 7, 8: the signature, with the registered algorithm only (never "none", never the token's choice).
    token = joserfc_jwt.decode(id_token, keys, algorithms=[alg])
    assert token.header["alg"] == alg
    claims = token.claims
    registry = joserfc_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": config["issuer"]},  # 2: the issuer exactly
        aud={"essential": True, "value": client_id},  # 3: aud contains the client
        sub={"essential": True},
        exp={"essential": True},  # 9: not expired
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},  # 11: the nonce sent
    )
    registry.validate(claims)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert len(audiences) == 1 or "azp" in claims  # 4
    assert claims.get("azp", client_id) == client_id  # 5
    assert abs(time.time() - claims["iat"]) < 300  # 10: issued just now
    if max_age is not None:  # 12: auth_time present and recent enough
        assert time.time() - claims["auth_time"] <= max_age + 30
    assert claims["at_hash"] == _half_hash(access_token, alg)  # §3.1.3.8
    return claims


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_joserfc_applies_the_full_core_3_1_3_7_rules_for_each_algorithm(live_issuer, alg):
    config = discover(live_issuer)
    assert alg in config["id_token_signing_alg_values_supported"]
    app, user = rp_app(id_token_signed_response_alg=alg), UserFactory()
    with requests.Session() as browser:
        session, token, nonce = sign_in(browser, config, app, user, scope="openid", max_age=600)
    claims = validate_core_3_1_3_7(token["id_token"], config=config, client_id=app.client_id, alg=alg,
                                   nonce=nonce, access_token=token["access_token"], max_age=600)
    assert claims["sub"] == str(user.pk)
    # A validator that expects another algorithm refuses the token (rule 8).
    with pytest.raises(Exception):  # noqa: B017  (joserfc's own error type)
        validate_core_3_1_3_7(token["id_token"], config=config, client_id=app.client_id,
                              alg="RS256" if alg != "RS256" else "ES256", nonce=nonce,
                              access_token=token["access_token"])
    session.close()


def test_a_pairwise_client_sees_one_sub_in_the_id_token_userinfo_access_token_and_introspection(live_issuer):
    config = discover(live_issuer)
    app, user = rp_app(subject_type=SubjectType.PAIRWISE), UserFactory()
    with requests.Session() as browser:
        session, token, nonce = sign_in(browser, config, app, user)
    claims = authlib_claims(config, token, app, nonce)
    assert claims["sub"] != str(user.pk)
    assert session.get(config["userinfo_endpoint"], timeout=10).json()["sub"] == claims["sub"]
    access = joserfc_jwt.decode(token["access_token"],
                                KeySet.import_key_set(requests.get(config["jwks_uri"], timeout=10).json()))
    assert access.claims["sub"] == claims["sub"]
    api = ApplicationFactory(is_resource_server=True)
    introspected = requests.post(config["introspection_endpoint"], data={"token": token["access_token"]},
                                 auth=(api.client_id, api.secret), timeout=10).json()
    assert introspected["active"] is True
    assert introspected["sub"] == claims["sub"]
    session.close()


def test_a_request_object_is_refused_at_the_redirect_uri(live_issuer):
    config = discover(live_issuer)
    app = rp_app()
    query = urlencode({"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT_URI,
                       "scope": "openid", "state": "s", "request": "eyJhbGciOiJub25lIn0.eyJub25jZSI6IngifQ."})
    answer = requests.get(f"{config['authorization_endpoint']}?{query}", allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == ["request_not_supported"]

