"""Single use under real concurrency: parallel PostgreSQL connections racing for one code or token."""


import pytest
from django.test import Client

from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import AccessToken, RefreshToken
from oauth_provider.tokens.revocation import is_jti_revoked
from tests.factories import UserFactory, WebApplicationFactory
from tests.helpers.flows import obtain_code, redeem, token_request
from tests.helpers.races import THREADS, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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


def test_losers_of_a_code_race_revoke_the_winners_tokens(setup):
    """RFC 6749 §4.1.2: every second redemption counts as a replay and revokes what the first got."""
    app, browser = setup
    code = obtain_code(browser, app)
    race(lambda client: redeem(client, app, code))
    access = AccessToken.objects.get()
    assert access.revoked_at is not None
    assert is_jti_revoked(access.jti)
    assert RefreshToken.objects.count() == 1
    assert RefreshToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_twenty_parallel_rotations_of_one_refresh_token_give_one_success(setup):
    app, browser = setup
    refresh_token = redeem(browser, app, obtain_code(browser, app)).json()["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    results = race(lambda client: token_request(client, app, data))
    assert len(results) == THREADS
    assert [status for status, _ in results].count(200) == 1
    assert [error for status, error in results if status != 200] == ["invalid_grant"] * (THREADS - 1)


def test_a_refresh_race_makes_one_new_pair_and_the_reuse_revokes_the_whole_family(setup):
    """RFC 9700 §4.14.2: the 19 reuses of a rotated token revoke its family, the new pair included."""
    app, browser = setup
    refresh_token = redeem(browser, app, obtain_code(browser, app)).json()["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    race(lambda client: token_request(client, app, data))
    # The original and exactly one rotated token; one access token from the code, one from the rotation.
    assert RefreshToken.objects.count() == 2
    assert AccessToken.objects.count() == 2
    assert len({token.family_id for token in RefreshToken.objects.all()}) == 1
    assert RefreshToken.objects.filter(revoked_at__isnull=True).count() == 0
    assert AccessToken.objects.filter(revoked_at__isnull=True).count() == 0
