"""Authlib's RFC 7009 and RFC 7662 client helpers against a live server."""

import pytest
from django.test import override_settings

from oauth_provider.models import AccessToken, RefreshToken
from tests.helpers.live import metadata

pytestmark = pytest.mark.django_db(transaction=True)


def session_for(application):
    from authlib.integrations.requests_client import OAuth2Session

    return OAuth2Session(application.client_id, application.secret, scope="read")


def test_authlib_introspects_then_revokes_an_access_token(live_issuer, service):
    endpoints = metadata(live_issuer)
    with session_for(service) as session:
        token = session.fetch_token(endpoints["token_endpoint"], grant_type="client_credentials")
        before = session.introspect_token(endpoints["introspection_endpoint"], token=token["access_token"])
        revoked = session.revoke_token(endpoints["revocation_endpoint"], token=token["access_token"],
                                       token_type_hint="access_token")
        after = session.introspect_token(endpoints["introspection_endpoint"], token=token["access_token"])
    assert before.json()["active"] is True
    assert before.json()["client_id"] == service.client_id
    assert revoked.status_code == 200
    assert after.json() == {"active": False}
    assert AccessToken.objects.get().revoked_at is not None


def test_authlib_revokes_a_refresh_token_and_its_family(live_issuer, web_app, user):
    from oauth_provider.tokens.issue import issue_access_token, issue_refresh_token

    refresh = issue_refresh_token(application=web_app, user=user, scope="read")
    issue_access_token(application=web_app, scope=["read"], grant_type="refresh_token", user=user,
                       refresh_token=refresh.record)
    endpoints = metadata(live_issuer)
    with session_for(web_app) as session:
        response = session.revoke_token(endpoints["revocation_endpoint"], token=refresh.token,
                                        token_type_hint="refresh_token")
        introspected = session.introspect_token(endpoints["introspection_endpoint"], token=refresh.token)
    assert response.status_code == 200
    assert introspected.json() == {"active": False}
    assert RefreshToken.objects.get().revoked_at is not None
    assert AccessToken.objects.get().revoked_at is not None


def test_metadata_with_lifecycle_endpoints_passes_authlibs_validation(live_issuer):
    from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

    document = AuthorizationServerMetadata(metadata(live_issuer))
    document.validate_revocation_endpoint()
    document.validate_revocation_endpoint_auth_methods_supported()
    document.validate_introspection_endpoint()
    document.validate_introspection_endpoint_auth_methods_supported()


def test_registered_client_fetches_a_token_with_authlib(live_issuer, settings):
    import requests
    from authlib.integrations.requests_client import OAuth2Session

    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "REGISTRATION_MODE": "open"}):
        endpoints = metadata(live_issuer)
        registration = requests.post(endpoints["registration_endpoint"], timeout=10, headers={"Connection": "close"},
                                     json={"client_name": "Batch", "grant_types": ["client_credentials"]})
        assert registration.status_code == 201
        info = registration.json()
        with OAuth2Session(info["client_id"], info["client_secret"], scope="read") as session:
            token = session.fetch_token(endpoints["token_endpoint"], grant_type="client_credentials")
        assert token["scope"] == "read"
        deleted = requests.delete(info["registration_client_uri"], timeout=10,
                                  headers={"Authorization": f"Bearer {info['registration_access_token']}",
                                           "Connection": "close"})
        assert deleted.status_code == 204
