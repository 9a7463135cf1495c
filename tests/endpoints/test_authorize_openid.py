"""OpenID Connect at the authorization endpoint (Core §3.1.2): nonce, prompt, max_age, login_hint,
id_token_hint, claims, request objects refused; and the consent page listing the claims."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from oauth_provider.models import AuthorizationCode, Consent
from oauth_provider.oidc.id_tokens import IdTokenContext, id_token_claims, sign_id_token
from oauth_provider.oidc.sessions import AUTH_TIME_SESSION_KEY, LOGIN_MARKER_PARAMETER
from tests.factories import OpenIDApplicationFactory, UserFactory
from tests.helpers.flows import STATE, authorize_url, query_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(db):
    return OpenIDApplicationFactory()


def openid_url(app, **params):
    return authorize_url(app, scope=params.pop("scope", "openid"), **params)


def remembered(user, app, scope="openid"):
    Consent.objects.create(user=user, application=app, scope=scope)


def hint(app, user):
    claims = id_token_claims(client=app, user=user, context=IdTokenContext(scope=("openid",)), algorithm="RS256")
    return sign_id_token(claims, "RS256")


def assert_error_at_client(response, app, error):
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(app.redirect_uri_list[0])
    query = query_of(location)
    assert query["error"] == error
    assert query["state"] == STATE
    assert query["iss"] == "http://testserver"
    assert not AuthorizationCode.objects.exists()


def login_location(response):
    assert response.status_code == 302
    parts = urlsplit(response["Location"])
    assert parts.path == "/accounts/login/"
    return parse_qs(parts.query)


# --- nonce, auth_time and claims go with the code --------------------------------------------------


def test_the_nonce_and_the_login_time_are_kept_with_the_code(user_client, user, app):
    remembered(user, app)
    response = user_client.get(openid_url(app, nonce="n-0S6_WzA2Mj"))
    assert response.status_code == 302
    code = AuthorizationCode.objects.get()
    assert code.nonce == "n-0S6_WzA2Mj"
    assert int(code.auth_time.timestamp()) == int(user_client.session[AUTH_TIME_SESSION_KEY])


def test_without_a_nonce_the_code_flow_still_works(user_client, user, app):
    """Core §3.1.2.1: nonce is optional with response_type=code (the ID Token comes from the token endpoint)."""
    remembered(user, app)
    assert "code" in query_of(user_client.get(openid_url(app))["Location"])
    assert AuthorizationCode.objects.get().nonce == ""


def test_the_claims_request_is_kept_with_the_code(user_client, user, app):
    remembered(user, app)
    user_client.get(openid_url(app, claims='{"id_token": {"email": {"essential": true}}}'))
    assert AuthorizationCode.objects.get().claims == {"id_token": {"email": {"essential": True}}}


def test_an_invalid_claims_request_goes_back_to_the_client(user_client, app):
    assert_error_at_client(user_client.get(openid_url(app, claims="[1]")), app, "invalid_request")


@pytest.mark.parametrize("response_type", ["id_token", "code id_token", "id_token token"])
def test_response_types_that_return_an_id_token_from_here_are_unsupported(user_client, app, response_type):
    response = user_client.get(openid_url(app, response_type=response_type, nonce="n"))
    assert_error_at_client(response, app, "unsupported_response_type")


# --- request objects (Core §6) -----------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["openid", "read"])
def test_a_request_object_is_refused(user_client, app, scope):
    response = user_client.get(authorize_url(app, scope=scope, request="eyJhbGciOiJub25lIn0.e30."))
    assert_error_at_client(response, app, "request_not_supported")


def test_a_request_uri_not_pushed_here_is_refused_without_redirecting(user_client, app):
    """Only request_uris of this server's PAR endpoint are accepted (RFC 9126 §4); another one (a request
    object by reference, Core §6.2) is refused on the error page: nothing verified says where to answer."""
    response = user_client.get(openid_url(app, request_uri="https://rp.example.test/request.jwt"))
    assert response.status_code == 400 and "Location" not in response
    assert b"invalid_request_uri" in response.content


def test_the_registration_parameter_is_refused(user_client, app):
    response = user_client.get(openid_url(app, registration='{"redirect_uris": ["https://x.example/cb"]}'))
    assert_error_at_client(response, app, "registration_not_supported")


def test_redirect_uri_is_required_with_openid_even_for_a_single_registered_uri(user_client, user, app):
    remembered(user, app, scope="openid read")
    response = user_client.get(openid_url(app, redirect_uri=None))
    assert_error_at_client(response, app, "invalid_request")
    # Plain OAuth may still leave it out (RFC 6749 §3.1.2.3).
    assert "code" in query_of(user_client.get(authorize_url(app, scope="read", redirect_uri=None))["Location"])


def test_a_request_object_is_refused_before_anyone_logs_in(client, app):
    assert_error_at_client(client.get(openid_url(app, request="x.y.z")), app, "request_not_supported")


# --- prompt=none -------------------------------------------------------------------------------------


@pytest.mark.security("S33")
def test_prompt_none_without_a_session_answers_login_required(client, app):
    assert_error_at_client(client.get(openid_url(app, prompt="none")), app, "login_required")


def test_prompt_none_without_consent_answers_consent_required(user_client, app):
    assert_error_at_client(user_client.get(openid_url(app, prompt="none")), app, "consent_required")


def test_prompt_none_with_another_users_id_token_hint_answers_login_required(user_client, user, app):
    remembered(user, app)
    response = user_client.get(openid_url(app, prompt="none", id_token_hint=hint(app, UserFactory())))
    assert_error_at_client(response, app, "login_required")


def test_prompt_none_with_max_age_zero_answers_login_required(user_client, user, app):
    remembered(user, app)
    assert_error_at_client(user_client.get(openid_url(app, prompt="none", max_age="0")), app, "login_required")


def test_prompt_none_with_a_session_and_consent_answers_with_a_code(user_client, user, app):
    remembered(user, app)
    response = user_client.get(openid_url(app, prompt="none", id_token_hint=hint(app, user)))
    assert "code" in query_of(response["Location"])


def test_an_invalid_id_token_hint_goes_back_to_the_client(user_client, user, app):
    other = OpenIDApplicationFactory()
    response = user_client.get(openid_url(app, prompt="none", id_token_hint=hint(other, user)))
    assert_error_at_client(response, app, "invalid_request")


@pytest.mark.parametrize("prompt", ["none login", "bogus"])
def test_invalid_prompt_values_go_back_to_the_client(user_client, app, prompt):
    assert_error_at_client(user_client.get(openid_url(app, prompt=prompt)), app, "invalid_request")


# --- prompt=login, max_age: a fresh login, and no loop ------------------------------------------------


def follow_login(user_client, user, response):
    """Play the login page: log in again (the receiver records the new time), then go to next."""
    next_url = login_location(response)["next"][0]
    time.sleep(0.01)
    user_client.force_login(user)
    return user_client.get(next_url)


@pytest.mark.parametrize("params", [{"prompt": "login"}, {"max_age": "0"}, {"prompt": "select_account"}])
def test_a_fresh_login_is_asked_even_with_a_session_and_then_satisfies_the_request(user_client, user, app,
                                                                                      params):
    remembered(user, app)
    first = user_client.get(openid_url(app, **params))
    assert LOGIN_MARKER_PARAMETER in login_location(first)["next"][0]
    assert not AuthorizationCode.objects.exists()
    back = follow_login(user_client, user, first)
    assert back.status_code == 302
    assert "code" in query_of(back["Location"])
    code = AuthorizationCode.objects.get()
    assert code.auth_time.timestamp() >= time.time() - 5


def test_coming_back_without_logging_in_again_asks_again(user_client, user, app):
    remembered(user, app)
    first = user_client.get(openid_url(app, max_age="0"))
    again = user_client.get(login_location(first)["next"][0])
    login_location(again)
    assert not AuthorizationCode.objects.exists()


def test_a_forged_login_marker_proves_nothing(user_client, user, app):
    remembered(user, app)
    response = user_client.get(openid_url(app, max_age="0") + f"&{LOGIN_MARKER_PARAMETER}=1700000000:forged")
    login_location(response)


@pytest.mark.security("S33")
def test_max_age_older_than_the_login_asks_to_log_in(user_client, user, app):
    remembered(user, app)
    session = user_client.session
    session[AUTH_TIME_SESSION_KEY] = int(time.time()) - 600
    session.save()
    login_location(user_client.get(openid_url(app, max_age="300")))
    assert user_client.get(openid_url(app, max_age="3600")).status_code == 302
    assert AuthorizationCode.objects.count() == 1


def test_the_clients_default_max_age_applies(user_client, user, db):
    app = OpenIDApplicationFactory(default_max_age=0)
    remembered(user, app)
    login_location(user_client.get(openid_url(app)))


def test_login_hint_is_passed_to_the_login_page(client, app):
    assert login_location(client.get(openid_url(app, login_hint="ada@example.test")))["login_hint"] == [
        "ada@example.test"]


def test_the_example_login_page_prefills_the_login_hint(client):
    page = client.get("/accounts/login/?login_hint=ada%40example.test")
    assert b'value="ada@example.test"' in page.content


# --- prompt=consent and the consent page -------------------------------------------------------------


def test_prompt_consent_shows_the_page_even_when_consent_is_remembered(user_client, user, app):
    remembered(user, app)
    response = user_client.get(openid_url(app, prompt="consent"))
    assert response.status_code == 200
    assert b'name="decision" value="allow"' in response.content
    assert not AuthorizationCode.objects.exists()


def test_prompt_consent_shows_the_page_even_to_a_trusted_client(user_client, db):
    app = OpenIDApplicationFactory(skip_consent=True)
    assert user_client.get(openid_url(app, prompt="consent")).status_code == 200
    assert user_client.get(openid_url(app)).status_code == 302


def test_allowing_on_the_consent_page_issues_the_code_with_the_nonce(user_client, app):
    response = user_client.post(openid_url(app, nonce="abc", prompt="consent"), {"decision": "allow"})
    assert response.status_code == 303
    assert "code" in query_of(response["Location"])
    assert AuthorizationCode.objects.get().nonce == "abc"


def test_denying_answers_access_denied(user_client, app):
    response = user_client.post(openid_url(app), {"decision": "deny"})
    assert query_of(response["Location"])["error"] == "access_denied"


def test_the_consent_page_lists_the_claims_each_scope_discloses(user_client, app):
    page = user_client.get(openid_url(app, scope="openid email profile")).content.decode()
    assert 'id="disclosed-claims"' in page
    assert "<code>email</code>, <code>email_verified</code>" in page
    assert "<code>preferred_username</code>" in page


def test_the_consent_page_lists_no_claims_for_openid_alone(user_client, app):
    assert b'id="disclosed-claims"' not in user_client.get(openid_url(app)).content
