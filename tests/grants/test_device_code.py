"""The device code grant at the token endpoint (RFC 8628 §3.4, §3.5)."""

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.errors import SlowDown
from oauth_provider.grants import TokenRequest
from oauth_provider.grants import device_code as device_code_grant
from oauth_provider.models import AccessToken, AuditEvent, DeviceCode, DeviceCodeStatus, GrantType, RefreshToken
from tests.factories import ApplicationFactory, DeviceApplicationFactory
from tests.helpers.device import age_last_poll, decide, expire, poll, row, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant(client, device_app):
    return start(client, device_app)


@pytest.fixture
def approved(grant, user_client):
    assert decide(user_client, grant["user_code"]).status_code == 303
    return grant


def error_of(response) -> str:
    return response.json()["error"]


# --- while pending ------------------------------------------------------------------------------


def test_first_poll_is_authorization_pending(client, device_app, grant):
    response = poll(client, device_app, grant["device_code"])
    assert response.status_code == 400
    assert error_of(response) == "authorization_pending"
    assert response["Cache-Control"] == "no-store"


def test_poll_records_its_time(client, device_app, grant):
    poll(client, device_app, grant["device_code"])
    assert row(grant).last_polled_at is not None


def test_poll_after_the_interval_is_still_pending(client, device_app, grant):
    poll(client, device_app, grant["device_code"])
    age_last_poll(row(grant), 5)
    assert error_of(poll(client, device_app, grant["device_code"])) == "authorization_pending"
    assert row(grant).interval == 5


@pytest.mark.security("S19")
def test_poll_within_the_interval_is_slow_down(client, device_app, grant):
    poll(client, device_app, grant["device_code"])
    response = poll(client, device_app, grant["device_code"])
    assert response.status_code == 400
    assert error_of(response) == "slow_down"


@pytest.mark.security("S19")
def test_slow_down_adds_five_seconds_to_the_stored_interval(client, device_app, grant):
    poll(client, device_app, grant["device_code"])
    poll(client, device_app, grant["device_code"])
    assert row(grant).interval == 10
    poll(client, device_app, grant["device_code"])
    assert row(grant).interval == 15


def test_slow_down_says_the_new_interval(client, device_app, grant):
    poll(client, device_app, grant["device_code"])
    assert "10 seconds" in poll(client, device_app, grant["device_code"]).json()["error_description"]


def test_the_grown_interval_applies_to_later_polls(client, device_app, grant):
    poll(client, device_app, grant["device_code"])
    poll(client, device_app, grant["device_code"])
    age_last_poll(row(grant), 6)  # past the old 5 s, within the new 10 s
    assert error_of(poll(client, device_app, grant["device_code"])) == "slow_down"
    age_last_poll(row(grant), 15)
    assert error_of(poll(client, device_app, grant["device_code"])) == "authorization_pending"


def test_interval_stops_growing_at_its_ceiling(client, device_app, grant):
    DeviceCode.objects.filter(pk=row(grant).pk).update(interval=device_code_grant.MAX_INTERVAL,
                                                       last_polled_at=timezone.now())
    assert error_of(poll(client, device_app, grant["device_code"])) == "slow_down"
    assert row(grant).interval == device_code_grant.MAX_INTERVAL


def test_a_poll_that_loses_the_race_to_record_itself_is_slow_down(device_app, grant):
    """Two polls read the same last_polled_at; the one whose conditional update finds it changed is too fast."""
    stale = row(grant)  # read by this poll before the other poll wrote
    DeviceCode.objects.filter(pk=stale.pk).update(last_polled_at=timezone.now() - timedelta(seconds=60))
    handler = device_code_grant.DeviceCodeGrant(TokenRequest(params={}, client=device_app))
    with pytest.raises(SlowDown):
        handler._still_pending(stale, timezone.now())
    assert row(grant).interval == 10


def test_pending_poll_costs_three_queries(client, device_app, grant, django_assert_num_queries):
    # client, device code, conditional poll-time update, and nothing else
    with django_assert_num_queries(3):
        poll(client, device_app, grant["device_code"])


# --- decided, expired, used -------------------------------------------------------------------


@pytest.mark.security("S19")
def test_denied_code_is_access_denied(client, device_app, grant, user_client):
    decide(user_client, grant["user_code"], "deny")
    response = poll(client, device_app, grant["device_code"])
    assert response.status_code == 400
    assert error_of(response) == "access_denied"
    assert not AccessToken.objects.exists()


def test_denied_code_stays_denied(client, device_app, grant, user_client):
    decide(user_client, grant["user_code"], "deny")
    poll(client, device_app, grant["device_code"])
    assert error_of(poll(client, device_app, grant["device_code"])) == "access_denied"


@pytest.mark.security("S19")
def test_expired_pending_code_is_expired_token(client, device_app, grant):
    expire(row(grant))
    response = poll(client, device_app, grant["device_code"])
    assert response.status_code == 400
    assert error_of(response) == "expired_token"


def test_expiry_is_recorded_on_the_code(client, device_app, grant):
    expire(row(grant))
    poll(client, device_app, grant["device_code"])
    assert row(grant).status == DeviceCodeStatus.EXPIRED
    assert error_of(poll(client, device_app, grant["device_code"])) == "expired_token"


def test_approved_code_that_expired_before_the_poll_gives_no_token(client, device_app, approved):
    expire(row(approved))
    assert error_of(poll(client, device_app, approved["device_code"])) == "expired_token"
    assert not AccessToken.objects.exists()


def test_approved_code_gives_tokens(client, device_app, approved, user):
    response = poll(client, device_app, approved["device_code"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read"
    assert "refresh_token" in body
    assert response["Cache-Control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == str(user.pk)
    assert claims["client_id"] == device_app.client_id


def test_approved_code_is_consumed(client, device_app, approved):
    poll(client, device_app, approved["device_code"])
    assert row(approved).status == DeviceCodeStatus.CONSUMED


def test_tokens_are_recorded_for_the_user_and_grant(client, device_app, approved, user):
    poll(client, device_app, approved["device_code"])
    token = AccessToken.objects.get()
    assert (token.user, token.grant_type, token.scope) == (user, GrantType.DEVICE_CODE, "read")
    assert RefreshToken.objects.get().user == user


def test_approval_after_slow_down_is_answered_at_once(client, device_app, grant, user_client):
    poll(client, device_app, grant["device_code"])
    decide(user_client, grant["user_code"])
    assert poll(client, device_app, grant["device_code"]).status_code == 200


@pytest.mark.security("S19")
def test_consumed_code_is_invalid_grant(client, device_app, approved):
    poll(client, device_app, approved["device_code"])
    response = poll(client, device_app, approved["device_code"])
    assert response.status_code == 400
    assert error_of(response) == "invalid_grant"
    assert AccessToken.objects.count() == 1


def test_no_refresh_token_without_the_refresh_grant(client, user_client):
    app = DeviceApplicationFactory(grant_types=[GrantType.DEVICE_CODE])
    grant = start(client, app)
    decide(user_client, grant["user_code"])
    body = poll(client, app, grant["device_code"]).json()
    assert "access_token" in body and "refresh_token" not in body


def test_refresh_token_from_the_device_grant_refreshes(client, device_app, approved):
    from tests.helpers.flows import token_request

    refresh_token = poll(client, device_app, approved["device_code"]).json()["refresh_token"]
    response = token_request(client, device_app, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    assert response.status_code == 200, response.content


def test_confidential_client_polls_with_its_secret(client, user_client):
    app = ApplicationFactory(grant_types=[GrantType.DEVICE_CODE])
    grant = start(client, app)
    decide(user_client, grant["user_code"])
    assert poll(client, app, grant["device_code"]).status_code == 200


def test_approving_user_made_inactive_gets_no_token(client, device_app, approved, user):
    user.is_active = False
    user.save()
    assert error_of(poll(client, device_app, approved["device_code"])) == "invalid_grant"
    assert not AccessToken.objects.exists()


# --- wrong client, wrong code --------------------------------------------------------------------


def test_device_code_of_another_client_is_invalid_grant(client, approved):
    other = DeviceApplicationFactory()
    response = poll(client, other, approved["device_code"])
    assert error_of(response) == "invalid_grant"
    assert row(approved).status == DeviceCodeStatus.APPROVED


def test_pending_code_of_another_client_reveals_nothing(client, grant):
    other = DeviceApplicationFactory()
    assert error_of(poll(client, other, grant["device_code"])) == "invalid_grant"
    assert row(grant).last_polled_at is None


def test_unknown_device_code_is_invalid_grant(client, device_app, grant):
    assert error_of(poll(client, device_app, grant["device_code"] + "x")) == "invalid_grant"


def test_user_code_is_not_a_device_code(client, device_app, grant):
    assert error_of(poll(client, device_app, grant["user_code"])) == "invalid_grant"


def test_missing_device_code_is_invalid_request(client, device_app):
    from tests.helpers.flows import token_request

    response = token_request(client, device_app, {"grant_type": GrantType.DEVICE_CODE.value})
    assert error_of(response) == "invalid_request"


def test_device_code_in_the_query_string_is_refused(client, device_app, grant):
    from urllib.parse import urlencode

    data = urlencode({"grant_type": GrantType.DEVICE_CODE.value, "client_id": device_app.client_id})
    response = client.post(f"/oauth/token/?device_code={grant['device_code']}", data=data,
                           content_type="application/x-www-form-urlencoded")
    assert error_of(response) == "invalid_request"


def test_client_not_allowed_the_device_grant_is_unauthorized_client(client, grant, public_app):
    assert error_of(poll(client, public_app, grant["device_code"])) == "unauthorized_client"


def test_client_that_lost_the_device_grant_gets_no_token(client, device_app, approved):
    device_app.grant_types = [GrantType.REFRESH_TOKEN]
    device_app.save()
    assert error_of(poll(client, device_app, approved["device_code"])) == "unauthorized_client"


def test_deactivated_client_is_invalid_client(client, device_app, approved):
    device_app.is_active = False
    device_app.save()
    response = poll(client, device_app, approved["device_code"])
    assert response.status_code == 401


# --- audit ---------------------------------------------------------------------------------------


def test_token_issuance_is_audited_with_the_device_code_id(client, device_app, approved, user):
    body = poll(client, device_app, approved["device_code"]).json()
    event = AuditEvent.objects.get(event=audit.TOKEN_ISSUED)
    assert event.user == user
    assert event.details["grant_type"] == GrantType.DEVICE_CODE
    assert event.details["device_code_id"] == row(approved).pk
    assert event.details["jti"] == AccessToken.objects.get().jti
    for secret in (approved["device_code"], approved["user_code"], body["access_token"], body["refresh_token"]):
        assert secret not in str(event.details)


def test_codes_never_reach_the_audit_trail(client, device_app, approved):
    poll(client, device_app, approved["device_code"])
    trail = str(list(AuditEvent.objects.values("details")))
    assert approved["device_code"] not in trail
    assert approved["user_code"] not in trail
    assert approved["user_code"].replace("-", "") not in trail


def test_expiry_uses_the_stored_expiry_not_the_lifetime_setting(client, device_app, grant):
    DeviceCode.objects.filter(pk=row(grant).pk).update(expires_at=timezone.now() + timedelta(seconds=30))
    assert error_of(poll(client, device_app, grant["device_code"])) == "authorization_pending"


@pytest.mark.security("S19")
def test_polling_faster_than_the_interval_is_slow_down_and_raises_it(client, device_app, grant):
    assert error_of(poll(client, device_app, grant["device_code"])) == "authorization_pending"
    before = row(grant).interval
    assert error_of(poll(client, device_app, grant["device_code"])) == "slow_down"
    assert row(grant).interval == before + 5


@pytest.mark.security("S19")
def test_device_code_is_consumed_once_even_when_polled_after_the_interval(client, device_app, grant, user_client):
    decide(user_client, grant["user_code"], "approve")
    assert poll(client, device_app, grant["device_code"]).status_code == 200
    age_last_poll(row(grant), 60)
    assert error_of(poll(client, device_app, grant["device_code"])) == "invalid_grant"
    assert row(grant).status == DeviceCodeStatus.CONSUMED
