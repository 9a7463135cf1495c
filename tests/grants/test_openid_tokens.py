"""ID Tokens from the token endpoint (OpenID Connect Core §3.1.3.3, §3.1.3.6, §12.2), the same sub
everywhere for a client (§8), and custom claims in access tokens and ID Tokens."""

import base64
import hashlib
import time

import jwt
import pytest
from django.test import override_settings

from oauth_provider.keys import get_jwks, get_signing_key
from oauth_provider.models import AccessToken, AuthorizationCode, Consent, RefreshToken, SubjectType
from oauth_provider.oidc.claims import CustomClaimsError
from oauth_provider.oidc.subjects import subject_for_client
from oauth_provider.resource.validator import get_validator
from tests.factories import ApplicationFactory, OpenIDApplicationFactory
from tests.helpers.flows import obtain_code, redeem, token_request

pytestmark = pytest.mark.django_db
LIFETIME = 600


def decode(token, app):
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKSet.from_dict(get_jwks())[header["kid"]]
    return header, jwt.decode(token, key, algorithms=[header["alg"]], audience=app.client_id,
                              issuer="http://testserver")


def half_hash(value, alg="RS256"):
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def sign_in(user_client, app, scope="openid", **params):
    return redeem(user_client, app, obtain_code(user_client, app, scope=scope, **params)).json()


def refresh(client, app, token, **extra):
    return token_request(client, app, {"grant_type": "refresh_token", "refresh_token": token, **extra})


@pytest.fixture
def app(db):
    return OpenIDApplicationFactory()


def test_the_code_flow_with_openid_returns_an_id_token(user_client, user, app):
    body = sign_in(user_client, app, nonce="n-0S6_WzA2Mj")
    header, claims = decode(body["id_token"], app)
    assert header["alg"] == "RS256"
    assert header["typ"] == "JWT"
    assert set(claims) == {"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash"}
    assert claims["sub"] == str(user.pk)
    assert claims["aud"] == claims["azp"] == app.client_id
    assert claims["exp"] - claims["iat"] == LIFETIME
    assert abs(claims["iat"] - time.time()) < 5
    assert claims["auth_time"] == int(user_client.session["_oauth_provider_auth_time"])
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["at_hash"] == half_hash(body["access_token"])


def test_without_openid_there_is_no_id_token(user_client, app):
    assert "id_token" not in sign_in(user_client, app, scope="read")


def test_without_a_nonce_the_id_token_has_no_nonce(user_client, app):
    assert "nonce" not in decode(sign_in(user_client, app)["id_token"], app)[1]


def test_the_nonce_is_echoed_exactly(user_client, app):
    nonce = "a b+c/é~" + "x" * 200
    assert decode(sign_in(user_client, app, nonce=nonce)["id_token"], app)[1]["nonce"] == nonce


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_the_registered_algorithm_signs_and_its_key_is_published(user_client, db, alg):
    app = OpenIDApplicationFactory(id_token_signed_response_alg=alg)
    body = sign_in(user_client, app)
    header, claims = decode(body["id_token"], app)
    assert header["alg"] == alg
    assert header["kid"] in {k["kid"] for k in get_jwks()["keys"]}
    assert claims["at_hash"] == half_hash(body["access_token"], alg)
    # Access tokens keep the server's algorithm.
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "RS256"


def test_an_id_token_claims_request_puts_the_claim_in_the_id_token(user_client, user, app):
    user.email = "ada@example.test"
    user.save()
    body = sign_in(user_client, app, claims='{"id_token": {"email": {"essential": true}}}')
    assert decode(body["id_token"], app)[1]["email"] == "ada@example.test"


def test_scope_claims_go_to_userinfo_not_into_the_id_token(user_client, app):
    claims = decode(sign_in(user_client, app, scope="openid email profile")["id_token"], app)[1]
    assert "email" not in claims
    assert "preferred_username" not in claims


def test_an_id_token_is_not_an_access_token_and_the_other_way_round(user_client, app):
    from oauth_provider.errors import InvalidToken
    from oauth_provider.oidc.id_tokens import InvalidIdTokenHint, verify_id_token_hint

    body = sign_in(user_client, app)
    with pytest.raises(InvalidToken):
        get_validator().validate(body["id_token"])
    with pytest.raises(InvalidIdTokenHint):
        verify_id_token_hint(body["access_token"])
    assert verify_id_token_hint(body["id_token"], client_id=app.client_id)["aud"] == app.client_id


# --- refresh (Core §12.2) ----------------------------------------------------------------------------


def test_a_refresh_with_openid_returns_an_id_token_with_the_same_sub_and_auth_time_and_no_nonce(
        client, user_client, app):
    first = sign_in(user_client, app, nonce="original")
    original = decode(first["id_token"], app)[1]
    time.sleep(1.01)  # so the new iat differs
    body = refresh(client, app, first["refresh_token"]).json()
    again = decode(body["id_token"], app)[1]
    assert (again["iss"], again["sub"], again["aud"], again["azp"], again["auth_time"]) == (
        original["iss"], original["sub"], original["aud"], original["azp"], original["auth_time"])
    assert again["iat"] > original["iat"]
    assert "nonce" not in again
    assert again["at_hash"] == half_hash(body["access_token"])
    # And across a second rotation.
    third = decode(refresh(client, app, body["refresh_token"]).json()["id_token"], app)[1]
    assert third["auth_time"] == original["auth_time"]


def test_a_refresh_keeps_the_id_token_claims_request(client, user_client, user, app):
    user.email = "ada@example.test"
    user.save()
    first = sign_in(user_client, app, claims='{"id_token": {"email": null}}')
    body = refresh(client, app, first["refresh_token"]).json()
    assert decode(body["id_token"], app)[1]["email"] == "ada@example.test"


def test_a_refresh_narrowed_to_without_openid_returns_no_id_token(client, user_client, app):
    first = sign_in(user_client, app, scope="openid read")
    body = refresh(client, app, first["refresh_token"], scope="read").json()
    assert "id_token" not in body


# --- one sub for a client everywhere (Core §8) --------------------------------------------------------


def test_a_pairwise_client_sees_its_sub_in_the_id_token_access_token_and_introspection(client, user_client, user):
    app = OpenIDApplicationFactory(subject_type=SubjectType.PAIRWISE)
    body = sign_in(user_client, app)
    sub = subject_for_client(user, app)
    assert sub != str(user.pk)
    assert decode(body["id_token"], app)[1]["sub"] == sub
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["sub"] == sub
    api = ApplicationFactory(is_resource_server=True)
    from tests.helpers.flows import post_as

    introspected = post_as(client, "/oauth/introspect/", api, {"token": body["access_token"]}).json()
    assert introspected["sub"] == sub


@pytest.mark.security("S32")
def test_two_pairwise_clients_of_different_sectors_cannot_correlate_the_user(user_client, user):
    one = OpenIDApplicationFactory(subject_type=SubjectType.PAIRWISE, redirect_uris="https://one.example.test/cb")
    two = OpenIDApplicationFactory(subject_type=SubjectType.PAIRWISE, redirect_uris="https://two.example.test/cb")
    sub_one = decode(sign_in(user_client, one)["id_token"], one)[1]["sub"]
    sub_two = decode(sign_in(user_client, two)["id_token"], two)[1]["sub"]
    assert sub_one != sub_two
    assert decode(sign_in(user_client, one)["id_token"], one)[1]["sub"] == sub_one


def test_the_resource_side_finds_the_user_of_a_pairwise_access_token_with_one_query(
        user_client, user, django_assert_num_queries):
    app = OpenIDApplicationFactory(subject_type=SubjectType.PAIRWISE)
    info = get_validator().validate(sign_in(user_client, app)["access_token"])
    with django_assert_num_queries(1):
        assert info.user == user


# --- custom claims ----------------------------------------------------------------------------------


def tenant_hook(client, user, scope, target):
    return {"tenant": "acme", "target": target, "user": user.pk if user else None}


def iss_hook(client, user, scope, target):
    return {"iss": "https://attacker.example"}


def scope_hook(client, user, scope, target):
    return {"scope": "admin"}


def hook(settings, name):
    return override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER,
                                             "CUSTOM_CLAIMS": f"tests.grants.test_openid_tokens.{name}"})


def test_custom_claims_reach_access_tokens_and_id_tokens(user_client, user, app, settings):
    with hook(settings, "tenant_hook"):
        body = sign_in(user_client, app)
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (access["tenant"], access["target"], access["user"]) == ("acme", "access_token", user.pk)
    claims = decode(body["id_token"], app)[1]
    assert (claims["tenant"], claims["target"]) == ("acme", "id_token")


def test_custom_claims_reach_client_credentials_tokens_without_a_user(client, settings):
    service = ApplicationFactory()
    with hook(settings, "tenant_hook"):
        body = token_request(client, service, {"grant_type": "client_credentials"}).json()
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["user"] is None


@pytest.mark.django_db(transaction=True)  # the redemption's own transaction is the outermost, as in production
@pytest.mark.parametrize("name", ["iss_hook", "scope_hook"])
def test_a_hook_that_sets_a_registered_claim_is_refused_and_nothing_is_issued(client, user_client, app, settings,
                                                                             name, caplog):
    code = obtain_code(user_client, app, scope="openid")
    with hook(settings, name):
        response = redeem(client, app, code)
    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert "registered claims" not in response.content.decode()  # the client learns nothing of the setup
    # The operator's log says exactly what is wrong.
    logged = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert any(isinstance(e, CustomClaimsError) and "may not set registered claims" in str(e) for e in logged)
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.exists()
    assert AuthorizationCode.objects.get().used_at is None  # the redemption was rolled back


# --- cost ---------------------------------------------------------------------------------------------


def test_redemption_with_openid_costs_no_more_queries_than_without(user_client, user, app,
                                                                   django_assert_num_queries):
    get_signing_key()
    Consent.objects.create(user=user, application=app, scope="openid read")
    code = obtain_code(user_client, app, scope="openid", nonce="n")
    # application; code (+user); update code; insert refresh; insert access; audit: as without openid
    with django_assert_num_queries(6):
        response = redeem(user_client, app, code)
    assert "id_token" in response.json()


def test_refresh_with_openid_costs_no_more_queries_than_without(client, user_client, app,
                                                                django_assert_num_queries):
    first = sign_in(user_client, app)
    with django_assert_num_queries(6):
        body = refresh(client, app, first["refresh_token"]).json()
    assert "id_token" in body


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_registering_an_algorithm_publishes_its_key_before_the_first_id_token(db, alg):
    before = {k["alg"] for k in get_jwks()["keys"]}
    assert alg not in before
    OpenIDApplicationFactory(id_token_signed_response_alg=alg)
    assert alg in {k["alg"] for k in get_jwks()["keys"]}
