"""The authorization endpoint: validation order, consent, redirects and page headers."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from oauth_provider import audit
from oauth_provider.crypto import digest, pkce_s256
from oauth_provider.models import AuditEvent, AuthorizationCode, Consent
from oauth_provider.redirect_uris import redirect_uri_matches
from tests.factories import PublicApplicationFactory, WebApplicationFactory
from tests.helpers.flows import STATE, VERIFIER, authorize_url, obtain_code, query_of, redeem

pytestmark = pytest.mark.django_db


# --- anonymous users --------------------------------------------------------------------------


def test_anonymous_user_is_sent_to_login_and_back(client, web_app):
    url = authorize_url(web_app)
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/login/"
    assert parse_qs(location.query) == {"next": [url]}


# --- errors that must never redirect (docs/SECURITY.md S1, S2) -------------------------------------------


def assert_error_page(response):
    assert response.status_code == 400
    assert "Location" not in response
    assert b"cannot be completed" in response.content


@pytest.mark.security("S2")
def test_unknown_client_gets_error_page_not_redirect(user_client, web_app):
    assert_error_page(user_client.get(authorize_url(web_app, client_id="no-such-client")))


def test_missing_client_id_gets_error_page(user_client, web_app):
    assert_error_page(user_client.get(authorize_url(web_app, client_id="")))


@pytest.mark.security("S2")
def test_inactive_client_gets_error_page(user_client, web_app):
    web_app.is_active = False
    web_app.save()
    assert_error_page(user_client.get(authorize_url(web_app)))


@pytest.mark.security("S2")
def test_unregistered_redirect_uri_gets_error_page(user_client, web_app):
    assert_error_page(user_client.get(authorize_url(web_app, redirect_uri="https://evil.example/callback")))


@pytest.mark.security("S1")
@pytest.mark.parametrize(
    "variant",
    [
        "https://web.example.test/callback/",  # trailing slash
        "https://web.example.test/callback?x=1",  # extra query
        "https://WEB.example.test/callback",  # different case
        "https://web.example.test/Callback",
        "https://web.example.test:8443/callback",  # different port
        "https://web.example.test/callback#frag",
        "http://web.example.test/callback",
    ],
)
def test_redirect_uri_variation_gets_error_page(user_client, web_app, variant):
    assert_error_page(user_client.get(authorize_url(web_app, redirect_uri=variant)))


@pytest.mark.security("S2")
def test_repeated_redirect_uri_gets_error_page(user_client, web_app):
    url = authorize_url(web_app) + "&redirect_uri=https%3A%2F%2Fevil.example%2F"
    assert_error_page(user_client.get(url))


def test_missing_redirect_uri_uses_the_only_registered_one(user_client, web_app):
    response = user_client.post(authorize_url(web_app, redirect_uri=None), {"decision": "allow"})
    assert response.status_code == 303
    assert response["Location"].startswith("https://web.example.test/callback?")


def test_missing_redirect_uri_with_several_registered_gets_error_page(user_client):
    app = WebApplicationFactory(redirect_uris="https://a.example.test/cb\nhttps://b.example.test/cb")
    assert_error_page(user_client.get(authorize_url(app, redirect_uri=None)))


@pytest.mark.security("S1")
def test_loopback_redirect_uri_matches_any_port():
    assert redirect_uri_matches("http://127.0.0.1:51234/cb", "http://127.0.0.1/cb")
    assert redirect_uri_matches("http://[::1]:8080/cb", "http://[::1]/cb")
    assert redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:9000/cb")


@pytest.mark.security("S1")
def test_loopback_exception_keeps_path_host_and_scheme_exact():
    assert not redirect_uri_matches("http://127.0.0.1:5000/other", "http://127.0.0.1/cb")
    assert not redirect_uri_matches("http://[::1]:5000/cb", "http://127.0.0.1/cb")
    assert not redirect_uri_matches("http://127.0.0.1:5000@evil.example/cb", "http://127.0.0.1/cb")
    assert not redirect_uri_matches("https://127.0.0.1:5000/cb", "http://127.0.0.1/cb")


@pytest.mark.security("S1")
def test_non_loopback_port_is_not_ignored():
    assert not redirect_uri_matches("https://app.example:444/cb", "https://app.example/cb")


def test_loopback_redirect_with_another_port_is_answered(user_client):
    app = WebApplicationFactory(redirect_uris="http://127.0.0.1/callback")
    response = user_client.post(
        authorize_url(app, redirect_uri="http://127.0.0.1:61000/callback"), {"decision": "allow"}
    )
    assert response.status_code == 303
    assert response["Location"].startswith("http://127.0.0.1:61000/callback?code=")


def test_private_use_scheme_redirect_is_answered(user_client):
    app = WebApplicationFactory(redirect_uris="com.example.app:/oauth")
    url = authorize_url(app, redirect_uri="com.example.app:/oauth")
    response = user_client.post(url, {"decision": "allow"})
    assert response.status_code == 303
    assert response["Location"].startswith("com.example.app:/oauth?code=")


# --- errors that go back to the client (docs/SECURITY.md S7) -------------------------------------------


def assert_error_redirect(response, error):
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert response["Location"].startswith("https://web.example.test/callback?")
    assert params["error"] == error
    assert params["state"] == STATE
    assert params["iss"] == "http://testserver"
    assert "code" not in params
    return params


def test_missing_response_type_redirects_invalid_request(user_client, web_app):
    assert_error_redirect(user_client.get(authorize_url(web_app, response_type=None)), "invalid_request")


@pytest.mark.security("S2", "S7")
def test_unknown_response_type_redirects_unsupported_response_type(user_client, web_app):
    response = user_client.get(authorize_url(web_app, response_type="code id_token"))
    assert_error_redirect(response, "unsupported_response_type")


def test_client_without_code_grant_redirects_unauthorized_client(user_client):
    app = WebApplicationFactory(grant_types=["client_credentials"])
    response = user_client.get(authorize_url(app))
    assert query_of(response["Location"])["error"] == "unauthorized_client"


def test_scope_outside_allowed_redirects_invalid_scope(user_client, web_app):
    assert_error_redirect(user_client.get(authorize_url(web_app, scope="read admin")), "invalid_scope")


def test_repeated_parameter_redirects_invalid_request(user_client, web_app):
    response = user_client.get(authorize_url(web_app) + "&scope=write")
    assert_error_redirect(response, "invalid_request")


@pytest.mark.security("S5")
def test_missing_pkce_redirects_invalid_request(user_client, web_app):
    response = user_client.get(authorize_url(web_app, code_challenge=None, code_challenge_method=None))
    assert_error_redirect(response, "invalid_request")


@pytest.mark.security("S5")
def test_public_client_needs_pkce_even_when_require_pkce_is_off(user_client, public_app):
    public_app.require_pkce = False
    public_app.save()
    response = user_client.get(authorize_url(public_app, code_challenge=None, code_challenge_method=None))
    assert query_of(response["Location"])["error"] == "invalid_request"


@pytest.mark.security("S5")
def test_plain_pkce_is_refused_by_default(user_client, web_app):
    response = user_client.get(authorize_url(web_app, code_challenge="p" * 43, code_challenge_method="plain"))
    assert_error_redirect(response, "invalid_request")


@pytest.mark.security("S5")
def test_challenge_without_method_means_plain_and_is_refused(user_client, web_app):
    response = user_client.get(authorize_url(web_app, code_challenge_method=None))
    assert_error_redirect(response, "invalid_request")


def test_malformed_code_challenge_redirects_invalid_request(user_client, web_app):
    response = user_client.get(authorize_url(web_app, code_challenge="short"))
    assert_error_redirect(response, "invalid_request")


def test_error_redirect_keeps_existing_query_of_redirect_uri(user_client):
    app = WebApplicationFactory(redirect_uris="https://web.example.test/callback?tenant=7")
    response = user_client.get(authorize_url(app, scope="admin"))
    params = query_of(response["Location"])
    assert params["tenant"] == "7"
    assert params["error"] == "invalid_scope"


# --- consent (docs/SECURITY.md S8) ------------------------------------------------------------------------


def test_consent_page_shows_client_name_and_scope_descriptions(user_client, web_app):
    response = user_client.get(authorize_url(web_app, scope="read write"))
    assert response.status_code == 200
    body = response.content.decode()
    assert web_app.name in body
    assert "Read your data" in body
    assert "Change your data" in body
    assert 'name="csrfmiddlewaretoken"' in body


@pytest.mark.security("S8")
def test_get_never_grants(user_client, web_app):
    response = user_client.get(authorize_url(web_app) + "&decision=allow")
    assert response.status_code == 200
    assert not AuthorizationCode.objects.exists()
    assert not Consent.objects.exists()


@pytest.mark.security("S8")
def test_consent_page_forbids_framing_referrers_and_caching(user_client, web_app):
    response = user_client.get(authorize_url(web_app))
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.security("S8")
def test_authorize_endpoint_sends_no_cors_headers(user_client, web_app):
    web_app.allowed_origins = "https://web.example.test"
    web_app.save()
    response = user_client.get(authorize_url(web_app), HTTP_ORIGIN="https://web.example.test")
    assert not any(name.lower().startswith("access-control-") for name in response.headers)


@pytest.mark.security("S8")
def test_error_page_forbids_framing(user_client, web_app):
    response = user_client.get(authorize_url(web_app, client_id="nope"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_allow_redirects_with_code_state_and_iss_as_303(user_client, web_app, user):
    response = user_client.post(authorize_url(web_app), {"decision": "allow"})
    assert response.status_code == 303
    params = query_of(response["Location"])
    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == STATE
    assert params["iss"] == "http://testserver"
    assert len(params["code"]) >= 43  # 256 bits, base64url
    code = AuthorizationCode.objects.get()
    assert code.code_digest == digest(params["code"])
    assert code.user == user
    assert code.application == web_app
    assert code.redirect_uri == "https://web.example.test/callback"
    assert code.code_challenge_method == "S256"


@pytest.mark.security("S6")
def test_code_lives_sixty_seconds_by_default(user_client, web_app):
    user_client.post(authorize_url(web_app), {"decision": "allow"})
    code = AuthorizationCode.objects.get()
    assert round((code.expires_at - code.created_at).total_seconds()) == 60


@pytest.mark.security("S7")
def test_deny_redirects_access_denied_with_state_and_iss(user_client, web_app):
    response = user_client.post(authorize_url(web_app), {"decision": "deny"})
    assert response.status_code == 303
    params = query_of(response["Location"])
    assert params == {"error": "access_denied", "error_description": params["error_description"],
                      "state": STATE, "iss": "http://testserver"}
    assert not AuthorizationCode.objects.exists()


@pytest.mark.security("S8")
def test_post_without_decision_grants_nothing(user_client, web_app):
    response = user_client.post(authorize_url(web_app), {})
    assert response.status_code == 400
    assert not AuthorizationCode.objects.exists()


@pytest.mark.security("S8")
def test_consent_post_without_csrf_token_is_refused(user, web_app):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(authorize_url(web_app), {"decision": "allow"})
    assert response.status_code == 403
    assert not AuthorizationCode.objects.exists()


def test_consent_post_with_csrf_token_is_accepted(user, web_app):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get(authorize_url(web_app))
    token = page.context["csrf_token"]
    response = client.post(authorize_url(web_app), {"decision": "allow", "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 303


def test_anonymous_consent_post_grants_nothing(client, web_app):
    response = client.post(authorize_url(web_app), {"decision": "allow"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not AuthorizationCode.objects.exists()


def test_trusted_client_skips_consent(user_client):
    app = WebApplicationFactory(skip_consent=True)
    response = user_client.get(authorize_url(app))
    assert response.status_code == 302
    assert "code" in query_of(response["Location"])


def test_remembered_consent_skips_the_page(user_client, web_app):
    user_client.post(authorize_url(web_app, scope="read write"), {"decision": "allow"})
    response = user_client.get(authorize_url(web_app, scope="read"))
    assert response.status_code == 302
    assert "code" in query_of(response["Location"])


def test_remembered_consent_does_not_cover_new_scopes(user_client, web_app):
    user_client.post(authorize_url(web_app, scope="read"), {"decision": "allow"})
    response = user_client.get(authorize_url(web_app, scope="read write"))
    assert response.status_code == 200


def test_consent_is_not_remembered_when_setting_is_off(user_client, web_app, settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "REMEMBER_CONSENT": False}
    user_client.post(authorize_url(web_app), {"decision": "allow"})
    assert user_client.get(authorize_url(web_app)).status_code == 200
    assert not Consent.objects.exists()


def test_consent_decisions_and_codes_are_audited(user_client, web_app):
    user_client.post(authorize_url(web_app), {"decision": "deny"})
    user_client.post(authorize_url(web_app), {"decision": "allow"})
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {audit.CONSENT_DENIED, audit.CONSENT_GRANTED, audit.CODE_ISSUED} <= events


def test_audit_details_hold_no_code(user_client, web_app):
    response = user_client.post(authorize_url(web_app), {"decision": "allow"})
    code = query_of(response["Location"])["code"]
    for details in AuditEvent.objects.values_list("details", flat=True):
        assert code not in str(details)


# --- revoking remembered consent --------------------------------------------------------------------


def test_user_sees_their_consents(user_client, web_app):
    user_client.post(authorize_url(web_app), {"decision": "allow"})
    response = user_client.get("/oauth/consents/")
    assert response.status_code == 200
    assert web_app.name in response.content.decode()


def test_revoking_consent_shows_the_consent_page_again(user_client, web_app):
    user_client.post(authorize_url(web_app), {"decision": "allow"})
    consent = Consent.objects.get()
    response = user_client.post(f"/oauth/consents/{consent.pk}/revoke/")
    assert response.status_code == 303
    assert not Consent.objects.exists()
    assert user_client.get(authorize_url(web_app)).status_code == 200


def test_user_cannot_revoke_another_users_consent(client, web_app):
    from tests.factories import UserFactory

    owner, other = UserFactory(), UserFactory()
    consent = Consent.objects.create(user=owner, application=web_app, scope="read")
    client.force_login(other)
    client.post(f"/oauth/consents/{consent.pk}/revoke/")
    assert Consent.objects.filter(pk=consent.pk).exists()


@pytest.mark.security("S1")
@pytest.mark.parametrize("variant", ["https://client.example.com/cb/", "https://CLIENT.example.com/cb",
                                     "https://client.example.com/cb?x=1", "https://client.example.com/cb#f",
                                     "https://client.example.com:443/cb", "https://client.example.com/c"])
def test_redirect_uri_must_match_a_registered_one_exactly(user_client, variant):
    app = WebApplicationFactory(redirect_uris="https://client.example.com/cb")
    response = user_client.get(authorize_url(app, redirect_uri=variant))
    assert response.status_code == 400
    assert "Location" not in response


@pytest.mark.security("S1")
def test_loopback_redirect_uri_allows_any_port_but_localhost_is_not_loopback(user_client):
    app = PublicApplicationFactory(redirect_uris="http://127.0.0.1/callback")
    code = obtain_code(user_client, app, redirect_uri="http://127.0.0.1:51234/callback")
    assert code
    assert user_client.get(authorize_url(app, redirect_uri="http://localhost:51234/callback")).status_code == 400


@pytest.mark.security("S2")
def test_unknown_client_never_redirects_to_the_uri_it_names(user_client):
    response = user_client.get("/oauth/authorize/?response_type=code&client_id=nope&redirect_uri=https://evil.example/")
    assert response.status_code == 400
    assert "Location" not in response
    assert b"evil.example" not in response.content


@pytest.mark.security("S5")
def test_public_client_needs_pkce(user_client, public_app):
    response = user_client.get(authorize_url(public_app, code_challenge=None, code_challenge_method=None))
    assert query_of(response["Location"])["error"] == "invalid_request"


@pytest.mark.security("S5")
def test_s256_is_the_only_advertised_method_and_plain_needs_an_opt_in(user_client, web_app, client):
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    for method in ("plain", None):  # RFC 7636 §4.3: no method means plain
        refused = user_client.get(authorize_url(web_app, code_challenge=VERIFIER, code_challenge_method=method))
        assert query_of(refused["Location"])["error"] == "invalid_request"
    opted_in = WebApplicationFactory(allow_plain_pkce=True)
    code = obtain_code(user_client, opted_in, code_challenge=VERIFIER, code_challenge_method="plain")
    assert redeem(Client(), opted_in, code).status_code == 200


@pytest.mark.security("S7")
def test_state_comes_back_untouched_with_iss(user_client, web_app):
    state = "a b+c/%25&é"
    response = user_client.post(authorize_url(web_app, state=state), {"decision": "allow"})
    params = query_of(response["Location"])
    assert params["state"] == state
    assert params["iss"] == "http://testserver"


@pytest.mark.security("S7")
def test_error_redirects_carry_state_and_iss_as_the_metadata_announces(user_client, web_app, client):
    response = user_client.post(authorize_url(web_app), {"decision": "deny"})
    params = query_of(response["Location"])
    assert (params["error"], params["state"], params["iss"]) == ("access_denied", STATE, "http://testserver")
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["authorization_response_iss_parameter_supported"] is True


@pytest.mark.security("S8")
def test_allow_and_deny_redirect_with_303(user_client, web_app):
    allow = user_client.post(authorize_url(web_app), {"decision": "allow"})
    deny = user_client.post(authorize_url(web_app), {"decision": "deny"})
    assert (allow.status_code, deny.status_code) == (303, 303)


@pytest.mark.security("S9")
def test_code_flow_never_puts_a_token_in_the_redirect(user_client):
    app = PublicApplicationFactory()
    response = user_client.post(authorize_url(app), {"decision": "allow"})
    location = response["Location"]
    assert set(query_of(location)) == {"code", "state", "iss"}
    assert "#" not in location
    assert pkce_s256(VERIFIER)


@pytest.mark.security("S29")
@pytest.mark.xfail(strict=True, reason="docs/SECURITY.md S29 is open: remembered consent skips the page")
def test_a_public_client_with_a_remembered_consent_still_gets_the_consent_page(user_client, user, public_app):
    Consent.objects.create(user=user, application=public_app, scope="read")
    response = user_client.get(authorize_url(public_app))
    assert response.status_code == 200
    assert not AuthorizationCode.objects.exists()


@pytest.mark.security("S29")
@pytest.mark.xfail(strict=True, reason="docs/SECURITY.md S29 is open: prompt is ignored")
def test_prompt_consent_shows_the_consent_page_despite_a_remembered_consent(user_client, user, web_app):
    Consent.objects.create(user=user, application=web_app, scope="read")
    response = user_client.get(authorize_url(web_app, prompt="consent"))
    assert response.status_code == 200
    assert not AuthorizationCode.objects.exists()


@pytest.mark.security("S30")
@pytest.mark.xfail(strict=True, reason="docs/SECURITY.md S30 is open: the PKCE pattern is no full match")
def test_a_code_challenge_with_a_trailing_newline_is_refused(user_client, web_app):
    response = user_client.get(authorize_url(web_app, code_challenge=pkce_s256(VERIFIER) + "\n"))
    assert_error_redirect(response, "invalid_request")
