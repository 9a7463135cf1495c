"""RP-Initiated Logout 1.0: the end-session endpoint, its confirmation page, exact post-logout URIs."""

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from oauth_provider.models import AuditEvent, SubjectType
from oauth_provider.oidc.id_tokens import IdTokenContext, id_token_claims, sign_id_token
from tests.factories import OpenIDApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/oauth/logout/"
LOGGED_OUT = "https://web.example.test/logged-out"


def id_token(app, user, **overrides):
    claims = id_token_claims(client=app, user=user, context=IdTokenContext(scope=("openid",)), algorithm="RS256")
    claims.update(overrides)
    return sign_id_token(claims, "RS256")


@pytest.fixture
def app(db):
    return OpenIDApplicationFactory()


def signed_in(client):
    return "_auth_user_id" in client.session


def test_the_users_own_rp_logs_them_out_and_gets_them_back_with_state(user_client, user, app):
    response = user_client.get(URL, {"id_token_hint": id_token(app, user), "post_logout_redirect_uri": LOGGED_OUT,
                                      "state": "s 1"})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == LOGGED_OUT
    assert parse_qs(location.query) == {"state": ["s 1"]}
    assert not signed_in(user_client)
    assert AuditEvent.objects.filter(event="user_logged_out", user=user, application=app).exists()


def test_the_rp_may_post_the_request(user_client, user, app):
    response = user_client.post(URL, {"id_token_hint": id_token(app, user), "post_logout_redirect_uri": LOGGED_OUT})
    assert response.status_code == 303
    assert response["Location"] == LOGGED_OUT
    assert not signed_in(user_client)


def test_without_a_redirect_uri_the_user_sees_they_are_signed_out(user_client, user, app):
    response = user_client.get(URL, {"id_token_hint": id_token(app, user)})
    assert response.status_code == 200
    assert b"You are signed out" in response.content
    assert not signed_in(user_client)


@pytest.mark.security("S33")
def test_an_unregistered_post_logout_redirect_uri_never_redirects(user_client, user, app):
    for uri in ("https://evil.example/", LOGGED_OUT + "/more", LOGGED_OUT + "?x=1", LOGGED_OUT.upper()):
        response = user_client.get(URL, {"id_token_hint": id_token(app, user), "post_logout_redirect_uri": uri})
        assert response.status_code == 400
        assert "Location" not in response
        assert b"not registered" in response.content
    assert signed_in(user_client)


def test_a_post_logout_redirect_uri_needs_the_client_named(user_client):
    response = user_client.get(URL, {"post_logout_redirect_uri": LOGGED_OUT})
    assert response.status_code == 400
    assert "Location" not in response


def test_client_id_alone_identifies_the_client_for_the_redirect_but_asks_first(user_client, app):
    response = user_client.get(URL, {"client_id": app.client_id, "post_logout_redirect_uri": LOGGED_OUT,
                                     "state": "abc"})
    assert response.status_code == 200
    assert b"Sign out?" in response.content
    assert signed_in(user_client)
    confirm = user_client.post("/oauth/logout/confirm/", {"client_id": app.client_id,
                                                          "post_logout_redirect_uri": LOGGED_OUT, "state": "abc",
                                                          "decision": "logout"})
    assert confirm.status_code == 303
    assert confirm["Location"] == LOGGED_OUT + "?state=abc"
    assert not signed_in(user_client)


def test_a_request_without_a_hint_is_confirmed_and_staying_changes_nothing(user_client):
    assert b"Sign out?" in user_client.get(URL).content
    response = user_client.post("/oauth/logout/confirm/", {"decision": "stay"})
    assert response.status_code == 200
    assert "Location" not in response
    assert signed_in(user_client)


def test_the_confirmation_is_csrf_protected(user, app):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post("/oauth/logout/confirm/", {"decision": "logout"})
    assert response.status_code == 403
    assert "_auth_user_id" in browser.session


def test_a_hint_for_another_user_asks_for_confirmation(user_client, app):
    response = user_client.get(URL, {"id_token_hint": id_token(app, UserFactory()),
                                     "post_logout_redirect_uri": LOGGED_OUT})
    assert response.status_code == 200
    assert b"Sign out?" in response.content
    assert signed_in(user_client)


def test_a_pairwise_hint_is_matched_with_the_pairwise_sub(user_client, user):
    app = OpenIDApplicationFactory(subject_type=SubjectType.PAIRWISE)
    response = user_client.get(URL, {"id_token_hint": id_token(app, user), "post_logout_redirect_uri": LOGGED_OUT})
    assert response.status_code == 302
    public = id_token(app, user, sub=str(user.pk))
    client_again = user_client
    client_again.force_login(user)
    assert b"Sign out?" in client_again.get(URL, {"id_token_hint": public}).content


def test_an_expired_hint_is_still_a_hint(user_client, user, app):
    hint = id_token(app, user, exp=1_000_000, iat=999_000)
    response = user_client.get(URL, {"id_token_hint": hint, "post_logout_redirect_uri": LOGGED_OUT})
    assert response.status_code == 302
    assert not signed_in(user_client)


def test_a_forged_hint_is_refused(user_client, user, app):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = id_token_claims(client=app, user=user, context=IdTokenContext(scope=("openid",)), algorithm="RS256")
    real_kid = jwt.get_unverified_header(id_token(app, user))["kid"]
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": real_kid})
    for hint in (forged, "not-a-jwt", id_token(app, user, iss="https://other.example")):
        response = user_client.get(URL, {"id_token_hint": hint, "post_logout_redirect_uri": LOGGED_OUT})
        assert response.status_code == 400
        assert "Location" not in response
    assert signed_in(user_client)


def test_a_hint_for_another_client_than_client_id_is_refused(user_client, user, app):
    other = OpenIDApplicationFactory()
    response = user_client.get(URL, {"id_token_hint": id_token(other, user), "client_id": app.client_id,
                                     "post_logout_redirect_uri": LOGGED_OUT})
    assert response.status_code == 400
    assert signed_in(user_client)


def test_an_unknown_client_is_an_error_page(user_client):
    response = user_client.get(URL, {"client_id": "nobody", "post_logout_redirect_uri": LOGGED_OUT})
    assert response.status_code == 400
    assert "Location" not in response


def test_a_user_who_is_not_signed_in_goes_straight_back(client, app):
    response = client.get(URL, {"client_id": app.client_id, "post_logout_redirect_uri": LOGGED_OUT, "state": "x"})
    assert response.status_code == 302
    assert response["Location"] == LOGGED_OUT + "?state=x"


def test_repeated_parameters_are_refused(user_client, app):
    response = user_client.get(URL + f"?client_id={app.client_id}&client_id={app.client_id}")
    assert response.status_code == 400


def test_pages_carry_the_security_headers(user_client):
    response = user_client.get(URL)
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"
