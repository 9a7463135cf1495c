"""private_key_jwt client assertions (RFC 7523 §2.2, §3): every rule refused on its own."""

from __future__ import annotations

import time

import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from oauth_provider.clients.assertion import assertion_subject, verify_client_assertion
from oauth_provider.clients.keys import clear_client_key_sets
from oauth_provider.errors import RejectedClientAssertion
from oauth_provider.models import ClientAssertionJti
from tests.helpers.assertions import ISSUER, PAR_URL, TOKEN_URL, client_assertion, client_key, private_key_jwt_client
from tests.helpers.jwt import oauth_settings_with, unsigned

pytestmark = pytest.mark.django_db
AUDIENCES = [ISSUER, TOKEN_URL]
UNKNOWN_KEY = "The client assertion is signed with an unknown key."
REFUSED_ALG = "The client assertion is signed with an algorithm that is not accepted."


@pytest.fixture
def app():
    return private_key_jwt_client()


def rejected(app, assertion, audiences=AUDIENCES) -> str:
    with pytest.raises(RejectedClientAssertion) as caught:
        verify_client_assertion(app, assertion, audiences=audiences)
    assert caught.value.error == "invalid_client" and caught.value.status_code == 401
    return caught.value.reason


def test_a_valid_assertion_is_accepted_and_its_jti_spent(app):
    assertion = client_assertion(app)
    claims = verify_client_assertion(app, assertion, audiences=AUDIENCES)
    assert claims["sub"] == app.client_id
    assert ClientAssertionJti.objects.filter(application=app).count() == 1


def test_the_jti_row_stores_a_digest_and_expires_with_the_assertion(app):
    exp = int(time.time()) + 60
    verify_client_assertion(app, client_assertion(app, jti="my-jti", exp=exp), audiences=AUDIENCES)
    row = ClientAssertionJti.objects.get()
    assert row.jti_digest != "my-jti" and len(row.jti_digest) == 64
    assert exp <= row.expires_at.timestamp() <= exp + 60


@pytest.mark.security("S35")
def test_a_replayed_jti_is_refused(app):
    assertion = client_assertion(app)
    verify_client_assertion(app, assertion, audiences=AUDIENCES)
    assert rejected(app, assertion) == "replayed_jti"


def test_a_new_assertion_reusing_a_jti_is_refused(app):
    verify_client_assertion(app, client_assertion(app, jti="same"), audiences=AUDIENCES)
    assert rejected(app, client_assertion(app, jti="same")) == "replayed_jti"


def test_the_same_jti_from_two_clients_is_two_assertions(app):
    other = private_key_jwt_client(name="Other")
    verify_client_assertion(app, client_assertion(app, jti="shared"), audiences=AUDIENCES)
    verify_client_assertion(other, client_assertion(other, jti="shared"), audiences=AUDIENCES)


@pytest.mark.parametrize("aud", ["https://evil.example/token", "http://testserver/oauth/revoke/", "http://testserver/"])
def test_a_wrong_audience_is_refused(app, aud):
    assert rejected(app, client_assertion(app, aud=aud)) .endswith("not meant for this server (aud).")


@pytest.mark.parametrize("aud", [ISSUER, TOKEN_URL, [TOKEN_URL, "https://other.example"]])
def test_the_issuer_or_the_endpoint_url_is_a_good_audience(app, aud):
    verify_client_assertion(app, client_assertion(app, aud=aud), audiences=AUDIENCES)


def test_the_par_endpoint_url_is_accepted_where_it_is_the_endpoint(app):
    verify_client_assertion(app, client_assertion(app, aud=PAR_URL), audiences=[ISSUER, TOKEN_URL, PAR_URL])
    assert rejected(app, client_assertion(app, aud=PAR_URL)) .endswith("not meant for this server (aud).")


def test_an_expired_assertion_is_refused(app):
    now = int(time.time())
    assert rejected(app, client_assertion(app, iat=now - 600, exp=now - 120)) == "The client assertion expired."


def test_an_assertion_living_longer_than_the_maximum_is_refused(app):
    reason = rejected(app, client_assertion(app, exp=int(time.time()) + 3600))
    assert reason.startswith("The client assertion lives longer")


@override_settings(OAUTH_PROVIDER=oauth_settings_with(CLIENT_ASSERTION_MAX_LIFETIME=3600))
def test_the_maximum_lifetime_is_a_setting(app):
    verify_client_assertion(app, client_assertion(app, exp=int(time.time()) + 3000), audiences=AUDIENCES)


def test_an_assertion_issued_in_the_future_is_refused(app):
    now = int(time.time())
    assert rejected(app, client_assertion(app, iat=now + 600, exp=now + 660)) in {
        "The client assertion is not valid yet.", "The client assertion lives longer than the server accepts (exp)."
    }
    assert rejected(app, client_assertion(app, nbf=now + 120)) == "The client assertion is not valid yet."


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "jti"])
def test_every_required_claim_must_be_present(app, claim):
    reason = rejected(app, client_assertion(app, **{claim: None}))
    assert reason == f"The client assertion lacks the {claim} claim." or "(iss)" in reason


def test_iss_must_be_the_client_id(app):
    reason = rejected(app, client_assertion(app, iss="someone-else"))
    assert reason == "The client assertion comes from another issuer (iss)."


def test_sub_must_be_the_client_id(app):
    reason = rejected(app, client_assertion(app, sub="someone-else"))
    assert reason == "The client assertion's sub is not the client_id."


def test_a_key_the_client_did_not_register_is_refused(app):
    stranger = client_key("RSA", index=1, kid="rsa-0")  # same kid, another key
    assert rejected(app, client_assertion(app, key=stranger)) == "The client assertion signature is invalid."


def test_an_unknown_kid_is_refused(app):
    assert rejected(app, client_assertion(app, kid="not-registered")) == UNKNOWN_KEY


def test_another_clients_key_is_refused(app):
    other_key = client_key("RSA", index=1, kid="other")
    assert rejected(app, client_assertion(app, key=other_key)) == UNKNOWN_KEY


def test_alg_none_is_refused(app):
    from tests.helpers.assertions import assertion_claims

    forged = unsigned({"alg": "none", "kid": "rsa-0"}, assertion_claims(app.client_id))
    assert rejected(app, forged) == REFUSED_ALG


def test_hs256_keyed_with_the_public_key_is_refused(app):
    """The key-confusion attack (RFC 8725 §2.1): a MAC whose 'secret' is the client's public key."""
    import hashlib
    import hmac
    import json

    from tests.helpers.assertions import assertion_claims
    from tests.helpers.jwt import b64

    _, public = client_key()
    header = b64(json.dumps({"alg": "HS256", "kid": "rsa-0"}).encode())
    body = b64(json.dumps(assertion_claims(app.client_id)).encode())
    mac = hmac.new(json.dumps(public).encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    assert rejected(app, f"{header}.{body}.{b64(mac)}") == REFUSED_ALG


def test_an_algorithm_outside_the_allow_list_is_refused(app):
    assert rejected(app, client_assertion(app, algorithm="RS512")) == REFUSED_ALG


def test_a_pinned_signing_alg_refuses_the_others(app):
    app.token_endpoint_auth_signing_alg = "PS256"
    app.save()
    assert rejected(app, client_assertion(app, algorithm="RS256")) == REFUSED_ALG
    verify_client_assertion(app, client_assertion(app, algorithm="PS256"), audiences=AUDIENCES)


def test_a_key_of_the_wrong_type_for_the_alg_is_refused():
    _, ec_public = client_key("EC")
    app = private_key_jwt_client(jwks={"keys": [ec_public]})
    rsa_private, _ = client_key("RSA")
    # An RS256 header naming the EC key: no key fits, nothing is verified.
    assertion = jwt.encode({"iss": app.client_id}, rsa_private, algorithm="RS256", headers={"kid": ec_public["kid"]})
    assert rejected(app, assertion) == UNKNOWN_KEY


@pytest.mark.parametrize(("kind", "alg"), [("EC", "ES256"), ("OKP", "EdDSA"), ("RSA", "PS256")])
def test_ec_eddsa_and_pss_keys_work(kind, alg):
    pair = client_key(kind)
    app = private_key_jwt_client(jwks={"keys": [pair[1]]})
    verify_client_assertion(app, client_assertion(app, key=pair, algorithm=alg), audiences=AUDIENCES)


def test_a_key_pinned_to_another_alg_is_refused():
    _, public = client_key()
    app = private_key_jwt_client(jwks={"keys": [{**public, "alg": "RS256"}]})
    assert rejected(app, client_assertion(app, algorithm="PS256")) == UNKNOWN_KEY


def test_without_kid_the_only_key_is_used_but_never_one_of_several():
    one = private_key_jwt_client(jwks={"keys": [client_key()[1]]})
    verify_client_assertion(one, client_assertion(one, kid=None), audiences=AUDIENCES)
    two = private_key_jwt_client(jwks={"keys": [client_key()[1], client_key("RSA", 1)[1]]})
    assert rejected(two, client_assertion(two, kid=None)) == UNKNOWN_KEY


@pytest.mark.parametrize("garbage", ["", "a.b", "not-a-jwt", "x" * 9000])
def test_garbage_is_refused(app, garbage):
    assert rejected(app, garbage) == "malformed_assertion"


def test_assertion_subject_reads_sub_without_verifying(app):
    assert assertion_subject(client_assertion(app)) == app.client_id
    assert assertion_subject("garbage") is None


def test_a_configuration_allowing_a_mac_fails_loudly(app):
    for algorithms in (["RS256", "HS256"], ["none"]):
        with (
            override_settings(OAUTH_PROVIDER=oauth_settings_with(CLIENT_ASSERTION_ALGORITHMS=algorithms)),
            pytest.raises(ImproperlyConfigured),
        ):
            verify_client_assertion(app, client_assertion(app), audiences=AUDIENCES)


# --- jwks_uri -----------------------------------------------------------------------------------


@pytest.fixture
def jwks_server():
    from tests.helpers.jwt import start_jwks_server

    state, server = start_jwks_server()
    clear_client_key_sets()
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(
        CLIENT_JWKS_URI_ALLOW_LOOPBACK=True, CLIENT_JWKS_MIN_REFETCH_SECONDS=3600
    )):
        yield state
    server.shutdown()
    server.server_close()
    clear_client_key_sets()


def test_keys_are_fetched_from_the_jwks_uri(jwks_server):
    jwks_server.serve("/client-jwks", {"keys": [client_key()[1]]})
    app = private_key_jwt_client(jwks=None, jwks_uri=jwks_server.url + "/client-jwks")
    verify_client_assertion(app, client_assertion(app), audiences=AUDIENCES)
    verify_client_assertion(app, client_assertion(app), audiences=AUDIENCES)
    assert jwks_server.fetches == 1  # cached


def test_forged_kids_cause_at_most_one_fetch_per_interval(jwks_server):
    jwks_server.serve("/client-jwks", {"keys": [client_key()[1]]})
    app = private_key_jwt_client(jwks=None, jwks_uri=jwks_server.url + "/client-jwks")
    verify_client_assertion(app, client_assertion(app), audiences=AUDIENCES)
    for n in range(20):
        assert rejected(app, client_assertion(app, kid=f"forged-{n}")) == UNKNOWN_KEY
    assert jwks_server.fetches == 1


def test_a_redirecting_jwks_uri_is_not_followed(jwks_server):
    jwks_server.serve("/moved", b"", status=302, Location=jwks_server.url + "/client-jwks")
    jwks_server.serve("/client-jwks", {"keys": [client_key()[1]]})
    app = private_key_jwt_client(jwks=None, jwks_uri=jwks_server.url + "/moved")
    assert rejected(app, client_assertion(app)) == "client_keys_unavailable"
    assert jwks_server.requests == ["/moved"]


def test_an_oversized_jwks_document_is_refused(jwks_server):
    jwks_server.serve("/big", b"{" + b" " * (600 * 1024) + b"}")
    app = private_key_jwt_client(jwks=None, jwks_uri=jwks_server.url + "/big")
    assert rejected(app, client_assertion(app)) == "client_keys_unavailable"


def test_a_loopback_jwks_uri_is_refused_unless_allowed(jwks_server):
    jwks_server.serve("/client-jwks", {"keys": [client_key()[1]]})
    app = private_key_jwt_client(jwks=None, jwks_uri=jwks_server.url + "/client-jwks")
    clear_client_key_sets()
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(CLIENT_JWKS_URI_ALLOW_LOOPBACK=False)):
        assert rejected(app, client_assertion(app)) == UNKNOWN_KEY
    assert jwks_server.fetches == 0


def test_the_connected_address_is_checked_after_dns(jwks_server, monkeypatch):
    """An https name that resolves to a private address is refused when connecting (no DNS rebinding)."""
    from oauth_provider.keys import remote

    jwks_server.serve("/client-jwks", {"keys": [client_key()[1]]})
    app = private_key_jwt_client(jwks=None, jwks_uri=jwks_server.url + "/client-jwks")
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(CLIENT_JWKS_URI_ALLOW_LOOPBACK=False)):
        class Sock:
            def getpeername(self):
                return ("10.0.0.7", 443)

        with pytest.raises(remote.NonPublicAddress):
            remote.check_peer(Sock(), allow_loopback=False)

        class Mapped:
            def getpeername(self):
                return ("::ffff:127.0.0.1", 443)

        with pytest.raises(remote.NonPublicAddress):
            remote.check_peer(Mapped(), allow_loopback=False)

        class Public:
            def getpeername(self):
                return ("93.184.216.34", 443)

        remote.check_peer(Public(), allow_loopback=False)
    del app
