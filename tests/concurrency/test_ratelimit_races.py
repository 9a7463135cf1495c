"""Counting before the check under real concurrency (docs/SECURITY.md S27): parallel guesses, each on
its own PostgreSQL connection, are counted before any password or secret is checked."""

import itertools
import time

import pytest

from tests.factories import ApplicationFactory, UserFactory
from tests.helpers.flows import FORM, basic_auth, token_request
from tests.helpers.races import THREADS, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


@pytest.mark.security("S27")
def test_19_wrong_passwords_and_the_right_one_in_parallel_are_checked_only_up_to_the_limit(monkeypatch):
    """The reproduced race: it used to read the count, run the slow check, then count, so all 20 were
    checked against a limit of 5. The check is slowed down (as PBKDF2 is) so all 20 are in flight."""
    from oauth_provider.grants import password

    app = ApplicationFactory(grant_types=["password"])
    user = UserFactory()
    checked = []
    real = password.authenticate

    def slow_authenticate(*args, **kwargs):
        checked.append(kwargs["password"])
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(password, "authenticate", slow_authenticate)
    guesses = itertools.count()

    def guess(client):
        n = next(guesses)
        attempt = PASSWORD if n == 7 else f"wrong-{n}"
        return token_request(client, app, {"grant_type": "password", "username": user.username, "password": attempt})

    results = race(guess)
    statuses = [status for status, _ in results]
    assert len(results) == THREADS
    # Exactly the limit of wrong passwords was checked; the right one, if it was checked in time, is
    # no failure (a sixth check then takes its place).
    assert len([attempt for attempt in checked if attempt != PASSWORD]) == 5
    assert statuses.count(400) == 5
    assert statuses.count(429) == THREADS - len(checked)
    assert statuses.count(200) == (PASSWORD in checked)


@pytest.mark.security("S27")
def test_20_parallel_successful_logins_are_all_served(monkeypatch):
    from oauth_provider.grants import password

    app = ApplicationFactory(grant_types=["password"])
    user = UserFactory()
    real = password.authenticate

    def slow_authenticate(*args, **kwargs):
        time.sleep(0.1)
        return real(*args, **kwargs)

    monkeypatch.setattr(password, "authenticate", slow_authenticate)
    results = race(lambda client: token_request(
        client, app, {"grant_type": "password", "username": user.username, "password": PASSWORD}))
    assert [status for status, _ in results] == [200] * THREADS


@pytest.mark.security("S27")
def test_20_parallel_wrong_secrets_are_checked_only_up_to_the_limit(settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "CLIENT_AUTH_MAX_FAILURES": 5}
    app = ApplicationFactory()
    results = race(lambda client: client.post("/oauth/token/", data="grant_type=client_credentials", content_type=FORM,
                                              HTTP_AUTHORIZATION=basic_auth(app.client_id, "guess")))
    assert sorted(status for status, _ in results) == [401] * 5 + [429] * (THREADS - 5)
