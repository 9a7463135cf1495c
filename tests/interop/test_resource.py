"""Interoperability over real HTTP: a token from the token endpoint, verified by PyJWT's PyJWKClient
against the published JWKS, and by the validator in remote-JWKS mode (a separate resource server)."""

import jwt
import pytest
import requests
from django.test import override_settings

from oauth_provider.resource.keysets import RemoteKeySet
from oauth_provider.resource.validator import get_validator
from tests.factories import ApplicationFactory
from tests.helpers.jwt import oauth_settings_with

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def issuer(live_server):
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(ISSUER=live_server.url)):
        yield live_server.url


def fetch_token(issuer: str, scope: str = "read") -> tuple[str, str]:
    application = ApplicationFactory()
    response = requests.post(
        f"{issuer}/oauth/token/",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(application.client_id, application.secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"], application.client_id


def test_token_endpoint_token_verifies_with_pyjwt_jwks_client(issuer):
    access_token, client_id = fetch_token(issuer)
    signing_key = jwt.PyJWKClient(f"{issuer}/oauth/jwks/").get_signing_key_from_jwt(access_token)
    claims = jwt.decode(
        access_token, signing_key, algorithms=["RS256"], audience=issuer, issuer=issuer,
        options={"require": ["exp", "iat", "jti", "sub", "client_id"]},
    )
    assert claims["client_id"] == client_id
    assert jwt.get_unverified_header(access_token)["typ"] == "at+jwt"


def test_remote_jwks_mode_validates_against_the_live_jwks(issuer):
    access_token, client_id = fetch_token(issuer)
    # oauth_settings_with starts from the issuer fixture's override (ISSUER = the live server).
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_JWKS_URL=f"{issuer}/oauth/jwks/")):
        validator = get_validator()
        assert isinstance(validator.key_set, RemoteKeySet)
        info = validator.validate(access_token)
    assert info.client_id == client_id
    assert info.scopes == ("read",)


def test_curl_style_call_of_api_me_over_http(issuer):
    access_token, client_id = fetch_token(issuer)
    headers = {"Authorization": f"Bearer {access_token}"}
    response = requests.get(f"{issuer}/api/me", headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.json()["client"] == {"client_id": client_id}
    refused = requests.get(f"{issuer}/api/me", headers={"Authorization": "Bearer not.a.token"}, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_token"')
