"""The device code under real concurrency: parallel PostgreSQL connections polling one code at once."""

import pytest
from django.test import Client

from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import AccessToken, DeviceCodeStatus, RefreshToken
from tests.factories import DeviceApplicationFactory, UserFactory
from tests.helpers.device import decide, poll, row, start
from tests.helpers.races import THREADS, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup():
    get_signing_key()
    app = DeviceApplicationFactory()
    grant = start(Client(), app)
    return app, grant


def test_twenty_parallel_polls_of_an_approved_code_give_tokens_once(setup):
    app, grant = setup
    browser = Client()
    browser.force_login(UserFactory())
    assert decide(browser, grant["user_code"]).status_code == 303
    results = race(lambda client: poll(client, app, grant["device_code"]))
    assert len(results) == THREADS
    assert [status for status, _ in results].count(200) == 1
    assert [error for status, error in results if status != 200] == ["invalid_grant"] * (THREADS - 1)
    assert AccessToken.objects.count() == 1
    assert RefreshToken.objects.count() == 1
    assert row(grant).status == DeviceCodeStatus.CONSUMED


def test_twenty_parallel_polls_of_a_pending_code_record_one_poll_and_slow_the_rest(setup):
    app, grant = setup
    results = race(lambda client: poll(client, app, grant["device_code"]))
    errors = sorted(error for _, error in results)
    assert errors == ["authorization_pending"] + ["slow_down"] * (THREADS - 1)
    assert row(grant).interval == 5 + 5 * (THREADS - 1)
