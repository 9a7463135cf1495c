"""Third-party clients against a live server: strict libraries catch deviations our tests would not."""

import pytest

from tests.helpers.live import metadata, verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_authlib_fetches_a_token_that_pyjwkclient_verifies(live_issuer, service, auth_method):
    from authlib.integrations.requests_client import OAuth2Session

    with OAuth2Session(service.client_id, service.secret, scope="read write",
                       token_endpoint_auth_method=auth_method) as session:
        token = session.fetch_token(metadata(live_issuer)["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "read write"
    claims = verify(live_issuer, token["access_token"])
    assert claims["client_id"] == service.client_id


def test_requests_oauthlib_backend_application_client(live_issuer, service, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server is plain http on loopback
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session

    with OAuth2Session(client=BackendApplicationClient(client_id=service.client_id)) as session:
        token = session.fetch_token(token_url=metadata(live_issuer)["token_endpoint"],
                                    client_id=service.client_id, client_secret=service.secret, scope=["read"])
    assert token["scope"] == ["read"]
    assert verify(live_issuer, token["access_token"])["scope"] == "read"


def test_authlib_sees_the_rfc_error_for_a_wrong_secret(live_issuer, service):
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.requests_client import OAuth2Session

    with OAuth2Session(service.client_id, "wrong-secret") as session, pytest.raises(OAuthError) as exc:
        session.fetch_token(metadata(live_issuer)["token_endpoint"], grant_type="client_credentials")
    assert exc.value.error == "invalid_client"


def test_metadata_passes_authlibs_rfc8414_validation(live_issuer):
    from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

    document = AuthorizationServerMetadata(metadata(live_issuer))
    document.validate_issuer()
    document.validate_token_endpoint()
    document.validate_jwks_uri()
    document.validate_scopes_supported()
    document.validate_grant_types_supported()
    document.validate_token_endpoint_auth_methods_supported()
