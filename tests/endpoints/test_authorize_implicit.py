"""response_type=token (implicit, RFC 6749 §4.2): off by default, opt-in per client and server."""

import pytest

from oauth_provider.models import RefreshToken
from tests.factories import WebApplicationFactory
from tests.helpers.flows import STATE, authorize_url, fragment_of, query_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def implicit_on(settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "IMPLICIT_GRANT_ENABLED": True}


@pytest.fixture
def implicit_app(db):
    return WebApplicationFactory(grant_types=["implicit"])


def implicit_url(app):
    return authorize_url(app, response_type="token", code_challenge=None, code_challenge_method=None)


def test_implicit_is_unsupported_by_default(user_client, implicit_app):
    response = user_client.get(implicit_url(implicit_app))
    assert response.status_code == 302
    assert fragment_of(response["Location"])["error"] == "unsupported_response_type"


def test_implicit_needs_the_client_to_opt_in(user_client, web_app, implicit_on):
    response = user_client.get(implicit_url(web_app))
    assert fragment_of(response["Location"])["error"] == "unauthorized_client"


def test_implicit_puts_the_token_in_the_fragment(user_client, implicit_app, implicit_on):
    response = user_client.post(implicit_url(implicit_app), {"decision": "allow"})
    assert response.status_code == 303
    location = response["Location"]
    assert query_of(location) == {}
    params = fragment_of(location)
    assert params["token_type"] == "Bearer"
    assert params["access_token"]
    assert params["state"] == STATE
    assert params["iss"] == "http://testserver"
    assert "refresh_token" not in params


def test_implicit_never_issues_a_refresh_token(user_client, implicit_on):
    app = WebApplicationFactory(grant_types=["implicit", "refresh_token"])
    user_client.post(implicit_url(app), {"decision": "allow"})
    assert not RefreshToken.objects.exists()


def test_implicit_deny_is_in_the_fragment(user_client, implicit_app, implicit_on):
    response = user_client.post(implicit_url(implicit_app), {"decision": "deny"})
    assert fragment_of(response["Location"])["error"] == "access_denied"


def test_metadata_lists_token_response_type_only_when_enabled(client, settings):
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["response_types_supported"] == ["code"]
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "IMPLICIT_GRANT_ENABLED": True}
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["response_types_supported"] == ["code", "token"]


@pytest.mark.security("S9")
def test_implicit_is_off_unless_the_client_opts_in(user_client, web_app):
    response = user_client.get(authorize_url(web_app, response_type="token"))
    assert "error=unsupported_response_type" in response["Location"]
    assert "access_token" not in response["Location"]
