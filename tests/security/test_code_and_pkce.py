"""SECURITY.md, "Authorization code and PKCE" (items 5-9): one test per item, named after it."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from oauth_provider.crypto import pkce_s256
from oauth_provider.models import AccessToken, AuthorizationCode, RefreshToken
from tests.factories import PublicApplicationFactory, WebApplicationFactory
from tests.helpers.flows import STATE, VERIFIER, authorize_url, obtain_code, query_of, redeem, token_request

pytestmark = pytest.mark.django_db


def test_item_05_pkce_is_required_for_public_clients(user_client, public_app):
    response = user_client.get(authorize_url(public_app, code_challenge=None, code_challenge_method=None))
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_item_05_pkce_is_on_by_default_for_confidential_clients_too(user_client, web_app):
    response = user_client.get(authorize_url(web_app, code_challenge=None, code_challenge_method=None))
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_item_05_s256_is_the_default_method_and_plain_is_refused_without_opt_in(user_client, web_app, client):
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    for method in ("plain", None):  # RFC 7636 §4.3: no method means plain
        refused = user_client.get(authorize_url(web_app, code_challenge=VERIFIER, code_challenge_method=method))
        assert query_of(refused["Location"])["error"] == "invalid_request"
    opted_in = WebApplicationFactory(allow_plain_pkce=True)
    code = obtain_code(user_client, opted_in, code_challenge=VERIFIER, code_challenge_method="plain")
    assert redeem(Client(), opted_in, code).status_code == 200


def test_item_05_a_code_bound_to_a_challenge_needs_the_matching_verifier(user_client, web_app):
    code = obtain_code(user_client, web_app)
    assert redeem(Client(), web_app, code, code_verifier=None).json()["error"] == "invalid_grant"
    assert redeem(Client(), web_app, code, code_verifier="w" * 50).json()["error"] == "invalid_grant"


def test_item_05_a_verifier_for_a_code_without_challenge_is_refused_pkce_downgrade(user_client):
    app = WebApplicationFactory(require_pkce=False)
    code = obtain_code(user_client, app, code_challenge=None, code_challenge_method=None)
    assert redeem(Client(), app, code).json()["error"] == "invalid_grant"


def test_item_06_codes_are_single_use_and_a_second_redemption_revokes_the_first_tokens(user_client, web_app):
    code = obtain_code(user_client, web_app)
    first = redeem(Client(), web_app, code)
    assert first.status_code == 200
    assert redeem(Client(), web_app, code).json()["error"] == "invalid_grant"
    assert AccessToken.objects.get().revoked_at is not None
    assert RefreshToken.objects.get().revoked_at is not None


def test_item_06_codes_live_at_most_60_seconds_by_default(user_client, web_app):
    obtain_code(user_client, web_app)
    record = AuthorizationCode.objects.get()
    assert record.expires_at - timezone.now() <= timedelta(seconds=60)


def test_item_06_an_expired_code_is_refused(user_client, web_app):
    code = obtain_code(user_client, web_app)
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert redeem(Client(), web_app, code).json()["error"] == "invalid_grant"


def test_item_06_codes_are_bound_to_client_and_redirect_uri(user_client, web_app):
    code = obtain_code(user_client, web_app)
    other = WebApplicationFactory()
    assert redeem(Client(), other, code).json()["error"] == "invalid_grant"
    wrong_uri = redeem(Client(), web_app, code, redirect_uri=web_app.redirect_uri_list[0] + "x")
    assert wrong_uri.json()["error"] == "invalid_grant"


def test_item_07_state_is_returned_untouched_with_iss(user_client, web_app):
    state = "a b+c/%25&é"
    response = user_client.post(authorize_url(web_app, state=state), {"decision": "allow"})
    params = query_of(response["Location"])
    assert params["state"] == state
    assert params["iss"] == "http://testserver"


def test_item_07_errors_carry_state_and_iss_and_the_metadata_says_so(user_client, web_app, client):
    response = user_client.post(authorize_url(web_app), {"decision": "deny"})
    params = query_of(response["Location"])
    assert (params["error"], params["state"], params["iss"]) == ("access_denied", STATE, "http://testserver")
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_item_08_consent_is_protected_against_csrf(user, web_app):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post(authorize_url(web_app), {"decision": "allow"})
    assert response.status_code == 403
    assert AuthorizationCode.objects.count() == 0


def test_item_08_consent_page_cannot_be_framed(user_client, web_app):
    response = user_client.get(authorize_url(web_app))
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_item_08_a_get_never_grants_anything(user_client, web_app):
    response = user_client.get(authorize_url(web_app) + "&decision=allow")
    assert response.status_code == 200
    assert AuthorizationCode.objects.count() == 0


@pytest.mark.parametrize("page", ["login", "consent", "error"])
def test_item_08_login_consent_and_error_pages_send_no_cross_origin_referrer_and_load_no_third_party_resources(
    user, web_app, page
):
    browser = Client()
    if page == "login":
        response = browser.get("/accounts/login/")
    elif page == "consent":
        browser.force_login(user)
        response = browser.get(authorize_url(web_app))
    else:
        response = browser.get("/oauth/authorize/?client_id=unknown")
    assert response.status_code in (200, 400)
    assert response["Referrer-Policy"] == "same-origin"  # no referrer leaves the origin
    urls = re.findall(rb'(?:src|href|action)\s*=\s*["\']([^"\']+)', response.content)
    assert urls
    assert not [url for url in urls if re.match(rb"^(https?:)?//", url)], urls


def test_item_08_a_redirect_after_a_post_is_a_303(user_client, web_app):
    allow = user_client.post(authorize_url(web_app), {"decision": "allow"})
    deny = user_client.post(authorize_url(web_app), {"decision": "deny"})
    assert (allow.status_code, deny.status_code) == (303, 303)


def test_item_08_the_authorization_endpoint_sends_no_cors_headers(user_client, web_app):
    response = user_client.get(authorize_url(web_app), HTTP_ORIGIN="https://client.example.com")
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_item_08_token_endpoint_cors_only_for_registered_origins(client, application):
    response = token_request(client, application, {"grant_type": "client_credentials"},
                             HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response


def test_item_09_implicit_is_off_unless_a_client_opts_in(user_client, web_app):
    response = user_client.get(authorize_url(web_app, response_type="token"))
    assert "error=unsupported_response_type" in response["Location"]
    assert "access_token" not in response["Location"]


def test_item_09_password_is_off_unless_a_client_opts_in(client, application, user):
    response = token_request(client, application, {"grant_type": "password", "username": user.username,
                                                   "password": "x"})
    assert response.json()["error"] == "unauthorized_client"


def test_item_09_the_default_code_flow_never_puts_a_token_in_a_url(user_client):
    app = PublicApplicationFactory()
    response = user_client.post(authorize_url(app), {"decision": "allow"})
    location = response["Location"]
    assert set(query_of(location)) == {"code", "state", "iss"}
    assert "#" not in location
    assert pkce_s256(VERIFIER)
