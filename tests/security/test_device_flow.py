"""SECURITY.md "Device flow (RFC 8628 §5)": items 18-20, one test per claim, named after its item."""

import math
import re

import pytest
from django.test import Client

from oauth_provider.endpoints.device import normalise_user_code
from oauth_provider.models import DeviceCode, DeviceCodeStatus
from tests.factories import UserFactory
from tests.helpers.device import VERIFY_URL, age_last_poll, decide, enter, expire, poll, row, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant(client, device_app):
    return start(client, device_app)


def error_of(response) -> str:
    return response.json()["error"]


def test_item_18_user_codes_have_enough_entropy_and_the_xxxx_xxxx_form(client, device_app):
    codes = {start(client, device_app)["user_code"] for _ in range(20)}
    assert len(codes) == 20
    for code in codes:
        assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", code)
    # 20 letters, 8 places: over 34 bits, far beyond what a rate-limited guesser tries in 10 minutes.
    assert 8 * math.log2(20) > 34


def test_item_18_user_codes_are_case_and_dash_insensitive(grant):
    code = grant["user_code"]
    variants = [code.lower(), code.replace("-", ""), f" {code[:4]} {code[5:]} ".lower()]
    assert {normalise_user_code(v) for v in variants} == {code.replace("-", "")}


def test_item_18_wrong_entries_are_rate_limited_per_user(user_client, grant):
    for n in range(5):
        assert enter(user_client, f"BBBB-BBB{'BCDFG'[n]}").status_code == 400
    response = enter(user_client, grant["user_code"])
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_item_18_wrong_entries_are_rate_limited_per_source_address(grant):
    for n in range(20):
        browser = Client(REMOTE_ADDR="198.51.100.9")
        browser.force_login(UserFactory())
        enter(browser, f"BBBB-BB{'BCDFGHJKLMNPQRSTVWXZ'[n]}B")
    fresh = Client(REMOTE_ADDR="198.51.100.9")
    fresh.force_login(UserFactory())
    assert enter(fresh, grant["user_code"]).status_code == 429


def test_item_19_polling_faster_than_the_interval_is_slow_down_and_raises_it(client, device_app, grant):
    assert error_of(poll(client, device_app, grant["device_code"])) == "authorization_pending"
    before = row(grant).interval
    assert error_of(poll(client, device_app, grant["device_code"])) == "slow_down"
    assert row(grant).interval == before + 5


def test_item_19_expired_codes_answer_expired_token(client, device_app, grant):
    expire(row(grant))
    assert error_of(poll(client, device_app, grant["device_code"])) == "expired_token"


def test_item_19_denied_codes_answer_access_denied(client, device_app, grant, user_client):
    decide(user_client, grant["user_code"], "deny")
    assert error_of(poll(client, device_app, grant["device_code"])) == "access_denied"


def test_item_19_the_device_code_is_consumed_once(client, device_app, grant, user_client):
    decide(user_client, grant["user_code"], "approve")
    assert poll(client, device_app, grant["device_code"]).status_code == 200
    age_last_poll(row(grant), 60)
    assert error_of(poll(client, device_app, grant["device_code"])) == "invalid_grant"
    assert row(grant).status == DeviceCodeStatus.CONSUMED


def test_item_20_the_confirmation_page_names_the_client_and_the_scopes(user_client, client, device_app):
    grant = start(client, device_app, scope="read write")
    page = enter(user_client, grant["user_code"]).content.decode()
    assert device_app.name in page
    assert "Read your data" in page and "Change your data" in page
    assert 'value="approve"' in page and 'value="deny"' in page
    assert DeviceCode.objects.get(user_code=grant["user_code"].replace("-", "")).status == "pending"


def test_item_20_entering_the_code_alone_approves_nothing(user_client, grant):
    enter(user_client, grant["user_code"])
    user_client.get(f"{VERIFY_URL}?user_code={grant['user_code']}")
    assert row(grant).status == DeviceCodeStatus.PENDING


def test_item_20_only_the_user_who_entered_the_code_can_approve_it(grant, user_client):
    enter(user_client, grant["user_code"])
    intruder = Client()
    intruder.force_login(UserFactory())
    intruder.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "approve"})
    assert row(grant).status == DeviceCodeStatus.PENDING
    assert row(grant).user is None


def test_item_20_approval_needs_csrf(grant, user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "approve"})
    assert response.status_code == 403
    assert row(grant).status == DeviceCodeStatus.PENDING
