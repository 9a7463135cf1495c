"""Single use under real concurrency: parallel PostgreSQL connections racing for one code or token."""

import threading

import pytest
from django.db import connection
from django.test import Client

from oauth_provider.keys import get_signing_key
from oauth_provider.models import AccessToken

from .factories import UserFactory, WebApplicationFactory
from .flows import obtain_code, redeem, token_request

THREADS = 20

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(request_once) -> list[tuple[int, str]]:
    """Run ``request_once(client)`` in THREADS threads released together; (status, error) of each."""
    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def worker():
        try:
            client = Client()
            barrier.wait()
            response = request_once(client)
            with lock:
                results.append((response.status_code, response.json().get("error", "")))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def setup():
    get_signing_key()
    app = WebApplicationFactory()
    browser = Client()
    browser.force_login(UserFactory())
    return app, browser


def test_twenty_parallel_redemptions_of_one_code_give_one_token(setup):
    app, browser = setup
    code = obtain_code(browser, app)
    results = race(lambda client: redeem(client, app, code))
    assert len(results) == THREADS
    assert sorted(status for status, _ in results).count(200) == 1
    assert [error for status, error in results if status != 200] == ["invalid_grant"] * (THREADS - 1)
    assert AccessToken.objects.count() == 1


def test_twenty_parallel_rotations_of_one_refresh_token_give_one_success(setup):
    app, browser = setup
    refresh_token = redeem(browser, app, obtain_code(browser, app)).json()["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    results = race(lambda client: token_request(client, app, data))
    assert len(results) == THREADS
    assert [status for status, _ in results].count(200) == 1
    assert [error for status, error in results if status != 200] == ["invalid_grant"] * (THREADS - 1)
