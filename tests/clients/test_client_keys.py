"""What a private_key_jwt client may register: its JWK Set, its jwks_uri, its signing alg."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from oauth_provider.jwk_sets import jwks_problems, jwks_uri_problem
from oauth_provider.models import Application, ClientType, TokenEndpointAuthMethod
from tests.helpers.assertions import client_key, private_key_jwt_client
from tests.helpers.jwt import oauth_settings_with


def test_a_set_of_public_keys_is_fine():
    assert jwks_problems({"keys": [client_key()[1], client_key("EC")[1], client_key("OKP")[1]]}) == []


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {"keys": "x"},
        {"keys": []},
        {"keys": [{"kty": "RSA"}]},  # no kid
        {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "mac"}]},  # symmetric
        {"keys": [{"kty": "RSA", "kid": "x", "n": "AQAB", "e": "AQAB", "use": "enc"}]},
        {"keys": [{**client_key()[1], "alg": "HS256"}]},
        {"keys": [{**client_key()[1], "kid": "a"}, {**client_key("EC")[1], "kid": "a"}]},  # duplicate kid
        {"keys": [{"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}]},
        {"keys": [client_key()[1]] * 11},
    ],
)
def test_unacceptable_sets_are_named(document):
    assert jwks_problems(document)


def test_a_private_key_is_refused():
    from jwt.algorithms import RSAAlgorithm

    private, _ = client_key()
    jwk = {**RSAAlgorithm.to_jwk(private, as_dict=True), "kid": "leaked"}
    assert "private" in jwks_problems({"keys": [jwk]})[0]


@pytest.mark.parametrize(
    "uri",
    [
        "http://keys.example/jwks",
        "https://127.0.0.1/jwks",
        "https://localhost/jwks",
        "https://10.0.0.7/jwks",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/jwks",
        "https://user:pw@keys.example/jwks",
        "https://keys.example/jwks#x",
        "ftp://keys.example/jwks",
        "https:///jwks",
        "https://keys.example:99999/jwks",
        "https://keys.example/ jwks",
        "",
    ],
)
def test_unacceptable_jwks_uris(uri):
    assert jwks_uri_problem(uri)


def test_https_jwks_uris_are_fine_and_loopback_http_only_when_allowed():
    assert jwks_uri_problem("https://keys.example/jwks") is None
    assert jwks_uri_problem("http://127.0.0.1:8000/jwks")
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(CLIENT_JWKS_URI_ALLOW_LOOPBACK=True)):
        assert jwks_uri_problem("http://127.0.0.1:8000/jwks") is None
        assert jwks_uri_problem("http://keys.example/jwks")


@pytest.mark.django_db
class TestApplicationClean:
    def clean(self, **fields):
        defaults = {"name": "c", "client_type": ClientType.CONFIDENTIAL, "grant_types": ["client_credentials"],
                    "allowed_scopes": "read", "token_endpoint_auth_method": TokenEndpointAuthMethod.PRIVATE_KEY_JWT}
        with pytest.raises(ValidationError) as caught:
            Application(**{**defaults, **fields}).full_clean(exclude=["client_id", "owner"])
        return caught.value.message_dict

    def test_private_key_jwt_needs_keys(self):
        assert "token_endpoint_auth_method" in self.clean()

    def test_jwks_and_jwks_uri_are_exclusive(self):
        assert "jwks_uri" in self.clean(jwks={"keys": [client_key()[1]]}, jwks_uri="https://keys.example/jwks")

    def test_a_public_client_cannot_use_private_key_jwt(self):
        errors = self.clean(client_type=ClientType.PUBLIC, grant_types=["authorization_code"],
                            redirect_uris="https://a.example/cb", jwks={"keys": [client_key()[1]]})
        assert "token_endpoint_auth_method" in errors

    def test_bad_keys_and_bad_uris_are_refused(self):
        assert "jwks" in self.clean(jwks={"keys": [{"kty": "oct", "k": "eA", "kid": "m"}]})
        assert "jwks_uri" in self.clean(jwks_uri="http://keys.example/jwks")

    def test_the_signing_alg_must_be_allowed(self):
        errors = self.clean(jwks={"keys": [client_key()[1]]}, token_endpoint_auth_signing_alg="HS256")
        assert "token_endpoint_auth_signing_alg" in errors

    def test_resource_scopes_must_be_known(self):
        assert "resource_scopes" in self.clean(jwks={"keys": [client_key()[1]]}, resource_scopes="nope")

    def test_a_complete_client_is_valid(self):
        app = private_key_jwt_client(token_endpoint_auth_signing_alg="PS256")
        assert app.uses_private_key_jwt and not app.has_secret
