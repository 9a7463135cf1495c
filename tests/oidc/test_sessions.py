"""The time of login (Core §2 auth_time) and max_age (Core §3.1.2.1)."""

import time
from types import SimpleNamespace

import pytest

from oauth_provider.oidc.sessions import (
    AUTH_TIME_SESSION_KEY,
    auth_time,
    login_is_fresh,
    login_marker,
)

pytestmark = pytest.mark.django_db


def session_request(logged_in_at):
    return SimpleNamespace(session={} if logged_in_at is None else {AUTH_TIME_SESSION_KEY: logged_in_at})


def test_every_login_records_the_time_in_the_session(client, user):
    before = time.time()
    client.force_login(user)
    recorded = client.session[AUTH_TIME_SESSION_KEY]
    assert before <= recorded <= time.time()


def test_a_login_through_the_login_view_records_it_too(client, user):
    client.post("/accounts/login/", {"username": user.username, "password": "correct horse battery staple"})
    assert isinstance(client.session.get(AUTH_TIME_SESSION_KEY), float)


def test_auth_time_is_none_without_a_record():
    assert auth_time(session_request(None)) is None
    assert auth_time(SimpleNamespace(session={AUTH_TIME_SESSION_KEY: "1"})) is None


def test_no_max_age_needs_no_fresh_login():
    assert login_is_fresh(session_request(None), None)


def test_max_age_compares_with_the_login_time():
    now = 1_000_000
    assert login_is_fresh(session_request(now - 60), 60, now=now)
    assert not login_is_fresh(session_request(now - 61), 60, now=now)


def test_an_unknown_login_time_is_never_fresh():
    assert not login_is_fresh(session_request(None), 3600)


def test_max_age_zero_is_never_satisfied_by_an_earlier_login():
    now = int(time.time())
    assert not login_is_fresh(session_request(now), 0, now=now)


def test_max_age_zero_is_satisfied_by_a_login_after_the_request_asked():
    asked = time.time() - 5
    marker = login_marker(now=asked)
    assert login_is_fresh(session_request(asked + 0.2), 0, marker=marker)
    assert not login_is_fresh(session_request(asked - 0.2), 0, marker=marker)
    # A login at the very moment the request asked is not after it.
    assert not login_is_fresh(session_request(asked), 0, marker=marker)


def test_auth_time_is_the_whole_second_of_the_login():
    assert auth_time(session_request(1_000_000.9)) == 1_000_000


def test_a_forged_or_stale_marker_proves_nothing():
    now = int(time.time())
    assert not login_is_fresh(session_request(now), 0, marker="1700000000:forged")
    stale = login_marker(now=now - 3600)
    # The signature's own timestamp is now, but the marker says an hour ago: still valid as a time,
    # so a login after it counts; a marker signed long ago is refused by its signature age.
    assert login_is_fresh(session_request(now), 0, marker=stale)
    from django.core import signing

    old = signing.TimestampSigner(salt="oauth_provider.oidc.login-asked")
    assert not login_is_fresh(session_request(now), 0, marker=old.sign("x"))
