"""The device verification page (RFC 8628 §3.3, §5.1, §5.4; docs/SECURITY.md S8, S18, S20)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.models import AuditEvent, DeviceCode, DeviceCodeStatus
from tests.factories import UserFactory
from tests.helpers.device import VERIFY_URL, decide, enter, expire, row, start

pytestmark = pytest.mark.django_db

PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@pytest.fixture
def grant(client, device_app):
    return start(Client(), device_app, scope="read write")


def assert_secure(response):
    for name, value in PAGE_HEADERS.items():
        assert response[name] == value, name


def wrong_code(n: int) -> str:
    """A well-formed code that names no device authorization."""
    letters = "BCDFGHJKLMNPQRSTVWXZ"
    return "".join(letters[(n // 20**i) % 20] for i in range(8))


# --- entering the code ---------------------------------------------------------------------------


def test_anonymous_user_is_sent_to_log_in_and_back(client, grant):
    response = client.get(f"{VERIFY_URL}?user_code={grant['user_code']}")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert "user_code" in response["Location"]
    assert_secure(response)


def test_anonymous_post_changes_nothing(client, grant):
    response = client.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "approve"})
    assert response.status_code == 302
    assert row(grant).status == DeviceCodeStatus.PENDING


def test_entry_form_is_shown_with_the_security_headers(user_client):
    response = user_client.get(VERIFY_URL)
    assert response.status_code == 200
    assert b'name="user_code"' in response.content
    assert_secure(response)


def test_code_from_verification_uri_complete_is_prefilled(user_client, grant):
    response = user_client.get(grant["verification_uri_complete"].replace("http://testserver", ""))
    assert f'value="{grant["user_code"]}"'.encode() in response.content


def test_get_with_a_code_goes_to_the_confirmation_but_decides_nothing(user_client, grant):
    # Issue #19: verification_uri_complete is one click (the confirmation), not two; a GET never decides.
    response = user_client.get(f"{VERIFY_URL}?user_code={grant['user_code']}")
    assert b'name="decision"' in response.content
    assert row(grant).status == DeviceCodeStatus.PENDING


@pytest.mark.security("S20")
def test_entered_code_shows_the_client_name_and_scopes(user_client, grant):
    response = enter(user_client, grant["user_code"])
    assert response.status_code == 200
    page = response.content.decode()
    assert "Living Room TV" in page
    assert "Read your data" in page and "Change your data" in page
    assert 'value="approve"' in page and 'value="deny"' in page
    assert_secure(response)
    assert row(grant).status == DeviceCodeStatus.PENDING


def test_confirmation_page_shows_the_code_being_confirmed(user_client, grant):
    assert grant["user_code"].encode() in enter(user_client, grant["user_code"]).content


@pytest.mark.parametrize("variant", [str.lower, lambda c: c.replace("-", ""), lambda c: c.replace("-", " ")])
def test_code_entry_ignores_case_and_separators(user_client, grant, variant):
    response = enter(user_client, variant(grant["user_code"]))
    assert b"Living Room TV" in response.content


def test_unknown_code_says_so(user_client, grant):
    response = enter(user_client, wrong_code(1))
    assert response.status_code == 400
    assert b"not valid" in response.content
    assert b'name="decision"' not in response.content
    assert_secure(response)


@pytest.mark.parametrize("garbled", ["", "BCDF", "AEIO-UAEI", "<script>", "x" * 100])
def test_garbled_code_says_it_is_not_valid(user_client, garbled):
    response = enter(user_client, garbled)
    assert response.status_code == 400
    assert b"not valid" in response.content
    assert b"<script>" not in response.content


def test_expired_code_says_so(user_client, grant):
    expire(row(grant))
    response = enter(user_client, grant["user_code"])
    assert response.status_code == 400
    assert b"expired" in response.content


def test_code_marked_expired_says_so(user_client, grant):
    DeviceCode.objects.filter(pk=row(grant).pk).update(status=DeviceCodeStatus.EXPIRED)
    assert b"expired" in enter(user_client, grant["user_code"]).content


@pytest.mark.parametrize("status", [DeviceCodeStatus.APPROVED, DeviceCodeStatus.DENIED, DeviceCodeStatus.CONSUMED])
def test_decided_code_says_it_was_already_used(user_client, grant, status):
    DeviceCode.objects.filter(pk=row(grant).pk).update(status=status)
    response = enter(user_client, grant["user_code"])
    assert response.status_code == 400
    assert b"already been used" in response.content


def test_code_of_a_deactivated_client_is_not_valid(user_client, grant, device_app):
    device_app.is_active = False
    device_app.save()
    assert b"not valid" in enter(user_client, grant["user_code"]).content


# --- deciding ------------------------------------------------------------------------------------


def test_approve_redirects_with_303_to_the_done_page(user_client, grant):
    response = decide(user_client, grant["user_code"])
    assert response.status_code == 303
    assert response["Location"] == "/oauth/device/verify/done/?outcome=approved"
    assert_secure(response)


def test_approve_records_the_user_and_time(user_client, grant, user):
    decide(user_client, grant["user_code"])
    code = row(grant)
    assert (code.status, code.user) == (DeviceCodeStatus.APPROVED, user)
    assert code.decided_at is not None


def test_deny_records_the_denial(user_client, grant, user):
    response = decide(user_client, grant["user_code"], "deny")
    assert response["Location"] == "/oauth/device/verify/done/?outcome=denied"
    code = row(grant)
    assert (code.status, code.user) == (DeviceCodeStatus.DENIED, user)


def test_done_page_tells_the_user_to_return_to_the_device(user_client):
    response = user_client.get("/oauth/device/verify/done/?outcome=approved")
    assert b"Return to your device" in response.content
    assert_secure(response)


def test_done_page_after_deny_says_access_was_denied(user_client):
    assert b"Access denied" in user_client.get("/oauth/device/verify/done/?outcome=denied").content


@pytest.mark.security("S22")
def test_approval_is_audited_without_the_code(user_client, grant, user, device_app):
    decide(user_client, grant["user_code"])
    event = AuditEvent.objects.get(event=audit.DEVICE_CODE_APPROVED)
    assert (event.user, event.client_id) == (user, device_app.client_id)
    assert event.details == {"device_code_id": row(grant).pk, "scope": "read write"}


@pytest.mark.security("S22")
def test_denial_is_audited(user_client, grant, user):
    decide(user_client, grant["user_code"], "deny")
    event = AuditEvent.objects.get(event=audit.DEVICE_CODE_DENIED)
    assert event.user == user
    assert grant["device_code"] not in str(event.details)


@pytest.mark.security("S20")
def test_get_never_approves(user_client, grant):
    enter(user_client, grant["user_code"])
    response = user_client.get(f"{VERIFY_URL}?user_code={grant['user_code']}&decision=approve")
    assert response.status_code == 200
    assert row(grant).status == DeviceCodeStatus.PENDING


@pytest.mark.security("S8", "S20")
def test_decision_needs_the_csrf_token(grant, user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "approve"})
    assert response.status_code == 403
    assert row(grant).status == DeviceCodeStatus.PENDING


def test_code_entry_needs_the_csrf_token(grant, user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.post(VERIFY_URL, {"user_code": grant["user_code"]}).status_code == 403


@pytest.mark.security("S20")
def test_decision_without_entering_the_code_first_changes_nothing(user_client, grant):
    response = user_client.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "approve"})
    assert response.status_code == 400
    assert row(grant).status == DeviceCodeStatus.PENDING


@pytest.mark.security("S20")
def test_another_user_cannot_approve_a_code_someone_else_entered(user_client, grant):
    enter(user_client, grant["user_code"])
    intruder = Client()
    intruder.force_login(UserFactory())
    intruder.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "approve"})
    assert row(grant).status == DeviceCodeStatus.PENDING
    assert row(grant).user is None


def test_decision_for_a_code_other_than_the_one_entered_changes_nothing(user_client, grant, device_app):
    other = start(Client(), device_app)
    enter(user_client, grant["user_code"])
    user_client.post(VERIFY_URL, {"user_code": other["user_code"], "decision": "approve"})
    assert row(other).status == DeviceCodeStatus.PENDING
    assert row(grant).status == DeviceCodeStatus.PENDING


def test_confirmation_of_an_earlier_entry_in_another_tab_changes_nothing(user_client, grant, device_app):
    """Tab 1 shows code A; tab 2 enters code B; Approve in tab 1 must not approve B."""
    second = start(Client(), device_app)
    enter(user_client, grant["user_code"])
    enter(user_client, second["user_code"])
    user_client.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "approve"})
    assert row(grant).status == DeviceCodeStatus.PENDING
    assert row(second).status == DeviceCodeStatus.PENDING


def test_unknown_decision_value_changes_nothing(user_client, grant):
    enter(user_client, grant["user_code"])
    response = user_client.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "maybe"})
    assert response.status_code == 400
    assert row(grant).status == DeviceCodeStatus.PENDING


def test_a_second_decision_on_the_same_entry_changes_nothing(user_client, grant):
    decide(user_client, grant["user_code"], "deny")
    user_client.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "approve"})
    assert row(grant).status == DeviceCodeStatus.DENIED


def test_code_that_expires_on_the_confirmation_page_cannot_be_approved(user_client, grant):
    enter(user_client, grant["user_code"])
    expire(row(grant))
    response = user_client.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "approve"})
    assert response.status_code == 400
    assert b"expired" in response.content
    assert row(grant).status == DeviceCodeStatus.PENDING


def test_code_decided_elsewhere_meanwhile_says_already_used(user_client, grant, user):
    enter(user_client, grant["user_code"])
    DeviceCode.objects.filter(pk=row(grant).pk).update(status=DeviceCodeStatus.DENIED, decided_at=timezone.now())
    response = user_client.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "approve"})
    assert b"already been used" in response.content
    assert row(grant).status == DeviceCodeStatus.DENIED


# --- rate limits ---------------------------------------------------------------------------------


def fail(browser, times: int, start_at: int = 0, **extra) -> None:
    for n in range(start_at, start_at + times):
        assert browser.post(VERIFY_URL, {"user_code": wrong_code(n)}, **extra).status_code == 400


def test_wrong_codes_up_to_the_limit_are_answered_normally(user_client, grant):
    fail(user_client, 4)
    assert enter(user_client, grant["user_code"]).status_code == 200


@pytest.fixture
def window_start(monkeypatch):
    """Freeze the rate-limit clock at the start of a window (a multiple of 900 and of 60 seconds):
    Retry-After, the time left in the window, is then the whole window. Returns a setter to move it."""
    clock = [900.0 * 2_000_000]
    monkeypatch.setattr("oauth_provider.ratelimit._now", lambda: clock[0])
    return clock


@pytest.mark.security("S18", "S23")
def test_too_many_wrong_codes_from_a_user_answer_429_with_retry_after(user_client, window_start):
    fail(user_client, 5)
    response = enter(user_client, wrong_code(99))
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert b"Too many wrong codes" in response.content
    assert_secure(response)


@pytest.mark.security("S18")
def test_at_the_limit_even_the_right_code_is_refused(user_client, grant):
    fail(user_client, 5)
    response = enter(user_client, grant["user_code"])
    assert response.status_code == 429
    assert b"Living Room TV" not in response.content


def test_a_right_code_does_not_reset_the_count(user_client, grant):
    fail(user_client, 4)
    enter(user_client, grant["user_code"])
    fail(user_client, 1, start_at=10)
    assert enter(user_client, wrong_code(99)).status_code == 429


def test_user_limit_follows_the_user_to_another_address(user, grant):
    browser = Client(REMOTE_ADDR="10.0.0.1")
    browser.force_login(user)
    fail(browser, 5)
    elsewhere = Client(REMOTE_ADDR="10.0.0.2")
    elsewhere.force_login(user)
    assert enter(elsewhere, grant["user_code"]).status_code == 429


def test_user_limit_does_not_block_other_users(user_client, grant):
    fail(user_client, 5)
    other = Client(REMOTE_ADDR="10.9.9.9")
    other.force_login(UserFactory())
    assert enter(other, grant["user_code"]).status_code == 200


@pytest.mark.security("S18")
def test_address_limit_spans_users(grant, window_start):
    for n in range(5):
        browser = Client(REMOTE_ADDR="192.0.2.7")
        browser.force_login(UserFactory())
        fail(browser, 4, start_at=n * 4)
    fresh = Client(REMOTE_ADDR="192.0.2.7")
    fresh.force_login(UserFactory())
    response = enter(fresh, grant["user_code"])
    assert response.status_code == 429
    assert response["Retry-After"] == "900"


def test_limits_are_configurable(user_client, settings, window_start):
    from django.test import override_settings

    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "DEVICE_USER_CODE_MAX_FAILURES": 2,
                                           "DEVICE_USER_CODE_FAILURE_WINDOW": 60}):
        fail(user_client, 2)
        response = enter(user_client, wrong_code(99))
    assert response.status_code == 429
    assert response["Retry-After"] == "60"


def test_counters_expire_with_the_window(user_client, grant):
    """The counter is a cache entry whose timeout is the window: expired means forgotten."""
    fail(user_client, 5)
    cache.clear()  # what the cache does when the window's timeout passes
    assert enter(user_client, grant["user_code"]).status_code == 200


def test_rate_limit_hits_are_audited(user_client, user):
    fail(user_client, 5)
    enter(user_client, wrong_code(99))
    assert AuditEvent.objects.get(event=audit.DEVICE_USER_CODE_RATE_LIMITED).user == user


def test_rate_limited_decision_cannot_bypass_the_entry_step(user_client, grant):
    fail(user_client, 5)
    user_client.post(VERIFY_URL, {"user_code": grant["user_code"], "decision": "approve"})
    assert row(grant).status == DeviceCodeStatus.PENDING


def test_wrong_entries_are_forgotten_in_the_next_window(user_client, grant, window_start):
    fail(user_client, 5)
    assert enter(user_client, grant["user_code"]).status_code == 429
    window_start[0] += 900
    assert enter(user_client, grant["user_code"]).status_code == 200


def test_expired_codes_do_not_count_as_wrong(user_client, grant):
    expire(row(grant))
    for _ in range(6):
        enter(user_client, grant["user_code"])
    assert enter(user_client, wrong_code(1)).status_code == 400


def test_code_close_to_its_expiry_can_still_be_entered(user_client, grant):
    DeviceCode.objects.filter(pk=row(grant).pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    assert enter(user_client, grant["user_code"]).status_code == 200


@pytest.mark.security("S18")
def test_wrong_entries_of_a_user_lock_out_even_the_right_code(user_client, grant):
    for n in range(5):
        assert enter(user_client, f"BBBB-BBB{'BCDFG'[n]}").status_code == 400
    response = enter(user_client, grant["user_code"])
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


@pytest.mark.security("S18")
def test_wrong_entries_from_one_address_lock_out_its_other_users(grant):
    for n in range(20):
        browser = Client(REMOTE_ADDR="198.51.100.9")
        browser.force_login(UserFactory())
        enter(browser, f"BBBB-BB{'BCDFGHJKLMNPQRSTVWXZ'[n]}B")
    fresh = Client(REMOTE_ADDR="198.51.100.9")
    fresh.force_login(UserFactory())
    assert enter(fresh, grant["user_code"]).status_code == 429


@pytest.mark.security("S20")
def test_entering_the_code_alone_approves_nothing(user_client, grant):
    enter(user_client, grant["user_code"])
    user_client.get(f"{VERIFY_URL}?user_code={grant['user_code']}")
    assert row(grant).status == DeviceCodeStatus.PENDING
