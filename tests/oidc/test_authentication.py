"""The OpenID Connect part of an authorization request (Core §3.1.2.1, §6): parameters and the
decision between answering, the login page and the consent page (or, with prompt=none, an error)."""

import time
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser

from oauth_provider.errors import (
    ConsentRequired,
    InvalidRequest,
    LoginRequired,
    RegistrationNotSupported,
    RequestNotSupported,
)
from oauth_provider.oidc.authentication import (
    CONSENT,
    LOGIN,
    interaction,
    parse_openid_parameters,
    refuse_request_objects,
)
from oauth_provider.oidc.id_tokens import IdTokenContext, id_token_claims, sign_id_token
from oauth_provider.oidc.sessions import AUTH_TIME_SESSION_KEY, login_marker
from tests.factories import OpenIDApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db
SCOPE = ["openid"]


def browser(user=None, logged_in_at="now"):
    session = {}
    if user is not None and logged_in_at is not None:
        session[AUTH_TIME_SESSION_KEY] = time.time() if logged_in_at == "now" else logged_in_at
    return SimpleNamespace(user=user or AnonymousUser(), session=session)


def hint(app, user):
    claims = id_token_claims(client=app, user=user, context=IdTokenContext(scope=("openid",)), algorithm="RS256")
    return sign_id_token(claims, "RS256")


@pytest.fixture
def app(db):
    return OpenIDApplicationFactory()


def parse(app, **params):
    params.setdefault("redirect_uri", app.redirect_uri_list[0])
    return parse_openid_parameters(app, params, SCOPE)


def test_redirect_uri_is_required_with_openid(app):
    with pytest.raises(InvalidRequest, match="redirect_uri"):
        parse_openid_parameters(app, {}, SCOPE)


@pytest.mark.parametrize("name, error", [("request", RequestNotSupported), ("registration", RegistrationNotSupported)])
def test_request_objects_are_refused_never_ignored(name, error):
    with pytest.raises(error):
        refuse_request_objects({name: "eyJhbGciOiJub25lIn0.e30."})
    refuse_request_objects({"scope": "openid"})


def test_the_nonce_is_kept_exactly(app):
    assert parse(app, nonce=" n-0 é ").nonce == " n-0 é "
    assert parse(app).nonce == ""


@pytest.mark.parametrize("prompt", ["none login", "none consent", "bogus", "login bogus"])
def test_invalid_prompt_values_are_refused(app, prompt):
    with pytest.raises(InvalidRequest):
        parse(app, prompt=prompt)


@pytest.mark.parametrize("max_age", ["-1", "1.5", "ten", "99999999999"])
def test_max_age_must_be_a_number_of_seconds(app, max_age):
    with pytest.raises(InvalidRequest, match="max_age"):
        parse(app, max_age=max_age)


def test_the_clients_default_max_age_applies_when_none_is_sent(db):
    app = OpenIDApplicationFactory(default_max_age=300)
    assert parse(app).max_age == 300
    assert parse(app, max_age="0").max_age == 0


def test_an_invalid_claims_parameter_is_refused(app):
    with pytest.raises(InvalidRequest, match="claims"):
        parse(app, claims="{not json")


def test_an_id_token_hint_must_be_ours_and_for_this_client(app, user):
    assert parse(app, id_token_hint=hint(app, user)).hinted_subject == str(user.pk)
    with pytest.raises(InvalidRequest):
        parse(app, id_token_hint=hint(OpenIDApplicationFactory(), user))
    with pytest.raises(InvalidRequest):
        parse(app, id_token_hint="garbage")


# --- prompt=none never shows a page ---------------------------------------------------------------


def test_prompt_none_without_a_session_is_login_required(app):
    with pytest.raises(LoginRequired):
        interaction(parse(app, prompt="none"), app, browser(), consent_needed=False)


def test_prompt_none_without_consent_is_consent_required(app, user):
    with pytest.raises(ConsentRequired):
        interaction(parse(app, prompt="none"), app, browser(user), consent_needed=True)


def test_prompt_none_with_another_users_id_token_hint_is_login_required(app, user):
    openid = parse(app, prompt="none", id_token_hint=hint(app, UserFactory()))
    with pytest.raises(LoginRequired):
        interaction(openid, app, browser(user), consent_needed=False)


def test_prompt_none_with_the_users_own_hint_and_consent_answers_at_once(app, user):
    openid = parse(app, prompt="none", id_token_hint=hint(app, user))
    assert interaction(openid, app, browser(user), consent_needed=False) is None


def test_prompt_none_with_a_login_older_than_max_age_is_login_required(app, user):
    with pytest.raises(LoginRequired):
        interaction(parse(app, prompt="none", max_age="60"), app, browser(user, time.time() - 120),
                    consent_needed=False)


# --- the pages --------------------------------------------------------------------------------------


def test_no_session_means_the_login_page(app):
    assert interaction(parse(app), app, browser(), consent_needed=False) == LOGIN


def test_max_age_zero_forces_a_fresh_login_even_just_after_one(app, user):
    assert interaction(parse(app, max_age="0"), app, browser(user), consent_needed=False) == LOGIN


def test_max_age_zero_is_satisfied_by_the_login_it_asked_for(app, user):
    marker = login_marker(now=time.time() - 1)
    assert interaction(parse(app, max_age="0"), app, browser(user), consent_needed=False, marker=marker) is None


def test_max_age_within_the_login_age_answers(app, user):
    assert interaction(parse(app, max_age="3600"), app, browser(user), consent_needed=False) is None


def test_an_unknown_login_time_with_max_age_asks_to_log_in(app, user):
    assert interaction(parse(app, max_age="3600"), app, browser(user, None), consent_needed=False) == LOGIN


def test_require_auth_time_with_an_unknown_login_time_asks_to_log_in(db, user):
    app = OpenIDApplicationFactory(require_auth_time=True)
    assert interaction(parse(app), app, browser(user, None), consent_needed=False) == LOGIN
    with pytest.raises(LoginRequired):
        interaction(parse(app, prompt="none"), app, browser(user, None), consent_needed=False)


@pytest.mark.parametrize("prompt", ["login", "select_account"])
def test_prompt_login_reauthenticates_even_with_a_session(app, user, prompt):
    assert interaction(parse(app, prompt=prompt), app, browser(user), consent_needed=False) == LOGIN
    marker = login_marker(now=time.time() - 1)
    assert interaction(parse(app, prompt=prompt), app, browser(user), consent_needed=False, marker=marker) is None


def test_prompt_consent_shows_the_consent_page_even_when_remembered(app, user):
    assert interaction(parse(app, prompt="consent"), app, browser(user), consent_needed=False) == CONSENT


def test_consent_needed_shows_the_consent_page(app, user):
    assert interaction(parse(app), app, browser(user), consent_needed=True) == CONSENT


def test_another_users_hint_asks_to_log_in_then_refuses_if_still_another(app, user):
    openid = parse(app, id_token_hint=hint(app, UserFactory()))
    assert interaction(openid, app, browser(user), consent_needed=False) == LOGIN
    with pytest.raises(LoginRequired):
        interaction(openid, app, browser(user), consent_needed=False, marker=login_marker(now=time.time() - 1))


def test_a_claims_request_for_a_sub_value_names_the_user(app, user):
    other = UserFactory()
    openid = parse(app, claims=f'{{"id_token": {{"sub": {{"value": "{other.pk}"}}}}}}')
    assert openid.hinted_subject == str(other.pk)
    assert interaction(openid, app, browser(user), consent_needed=False) == LOGIN
