"""Helpers that drive the device authorization grant (RFC 8628) through the Django test client."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from oauth_provider.models import DeviceCode, GrantType
from tests.helpers.flows import post_as, token_request

DEVICE_GRANT = GrantType.DEVICE_CODE.value
VERIFY_URL = "/oauth/device/verify/"


def device_authorization(client, application, **data):
    """POST /oauth/device/ as ``application`` (see ``flows.post_as``)."""
    return post_as(client, "/oauth/device/", application, data)


def start(client, application, **data) -> dict:
    response = device_authorization(client, application, **data)
    assert response.status_code == 200, response.content
    return response.json()


def poll(client, application, device_code: str):
    return token_request(client, application, {"grant_type": DEVICE_GRANT, "device_code": device_code})


def row(grant: dict) -> DeviceCode:
    """The stored row of a device authorization response."""
    return DeviceCode.objects.get(user_code=grant["user_code"].replace("-", ""))


def enter(browser, user_code: str):
    """Step one of the verification page: submit the code (returns the confirmation page)."""
    return browser.post(VERIFY_URL, {"user_code": user_code})


def decide(browser, user_code: str, decision: str = "approve"):
    """Both steps: enter the code, then approve or deny it."""
    confirm = enter(browser, user_code)
    assert confirm.status_code == 200, confirm.content
    return browser.post(VERIFY_URL, {"user_code": user_code, "decision": decision})


def age_last_poll(code: DeviceCode, seconds: int) -> None:
    """Move the last poll ``seconds`` into the past, as if time had passed."""
    DeviceCode.objects.filter(pk=code.pk).update(last_polled_at=timezone.now() - timedelta(seconds=seconds))


def expire(code: DeviceCode) -> None:
    DeviceCode.objects.filter(pk=code.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
