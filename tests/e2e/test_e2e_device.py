"""The device flow in a real browser: the demo device client polls while a person approves its code.

Skipped, with the reason, when the server does not advertise a device authorization endpoint
(RFC 8628) or the example site has no ``example_project/device_client.py``.
"""

from __future__ import annotations

import importlib
import threading

import pytest
import requests

from tests.e2e.conftest import screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

POLL_TIMEOUT_SECONDS = 30


def device_flow_or_skip(site: str):
    """(metadata, the device client module), or skip when the device flow is not installed."""
    metadata = requests.get(f"{site}/.well-known/oauth-authorization-server", timeout=10,
                            headers={"Connection": "close"}).json()
    if "device_authorization_endpoint" not in metadata:
        pytest.skip("the server advertises no device_authorization_endpoint (RFC 8628 device flow not installed)")
    try:
        device_client = importlib.import_module("example_project.device_client")
    except ImportError:
        pytest.skip("example_project/device_client.py (the demo device client) is not installed")
    return metadata, device_client


class Poller(threading.Thread):
    """The demo device client's own polling loop, in the background, as a device would run it."""

    def __init__(self, device_client, metadata: dict, grant: dict) -> None:
        super().__init__(daemon=True)
        self.device_client, self.metadata, self.grant = device_client, metadata, grant
        self.reports: list[str] = []
        self.token: dict | None = None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            self.token = self.device_client.poll_for_token(
                self.metadata["token_endpoint"], "demo-device", self.grant["device_code"],
                interval=int(self.grant.get("interval", 1)), expires_in=POLL_TIMEOUT_SECONDS,
                report=self.reports.append,
            )
        except Exception as exc:  # handed to the test thread, which fails with it
            self.error = exc


def start_device_flow(site: str):
    metadata, device_client = device_flow_or_skip(site)
    grant = device_client.request_device_code(metadata["device_authorization_endpoint"], "demo-device", "read")
    poller = Poller(device_client, metadata, grant)
    poller.start()
    return grant, poller


def open_verification_page(page, grant: dict) -> None:
    page.goto(grant["verification_uri_complete"])
    page.wait_for_url("**/accounts/login/**")
    sign_in(page, "alice", "alice-demo-password")
    entry = page.get_by_role("button", name="Continue")
    if entry.count():  # an entry step with the code pre-filled, before the confirmation
        screenshot(page, "device-entry")
        entry.click()
    page.get_by_text("Demo TV Device").first.wait_for()


def test_e2e_device_flow_approved_in_the_browser_gives_the_polling_device_a_token(site, page):
    grant, poller = start_device_flow(site)
    open_verification_page(page, grant)
    assert page.get_by_text(grant["user_code"]).first.is_visible()
    screenshot(page, "device-confirm")
    page.get_by_role("button", name="Approve").click()
    page.get_by_role("heading", name="Device connected").wait_for()
    screenshot(page, "device-done")

    poller.join(POLL_TIMEOUT_SECONDS)
    assert poller.error is None, poller.error
    assert poller.token is not None
    me = requests.get(f"{site}/api/me", headers={"Authorization": f"Bearer {poller.token['access_token']}",
                                                 "Connection": "close"}, timeout=10)
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "alice"


def test_e2e_device_flow_denied_in_the_browser_stops_the_device(site, page):
    grant, poller = start_device_flow(site)
    open_verification_page(page, grant)
    page.get_by_role("button", name="Deny").click()
    page.get_by_role("heading", name="Access denied").wait_for()
    screenshot(page, "device-denied")

    poller.join(POLL_TIMEOUT_SECONDS)
    assert poller.token is None
    assert getattr(poller.error, "error", None) == "access_denied"
