"""The admin in a real browser: a new confidential client's secret is shown once, and never again."""

from __future__ import annotations

import pytest

from oauth_provider.models import Application
from tests.e2e.conftest import screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_e2e_admin_creates_a_client_and_sees_its_secret_once(site, page):
    page.goto(site + "/admin/oauth_provider/application/add/")
    sign_in(page, "admin", "admin-demo-password", button="Log in")
    page.wait_for_url("**/admin/oauth_provider/application/add/")
    page.get_by_label("Name").fill("E2E Partner Service")
    page.get_by_label("Client type").select_option("confidential")
    page.get_by_label("Client credentials", exact=True).check()
    page.get_by_label("Allowed scopes").fill("read")
    screenshot(page, "admin-add-client")
    page.get_by_role("button", name="Save", exact=True).click()

    secret = page.locator("#client-secret").inner_text()
    assert len(secret) >= 40
    application = Application.objects.get(name="E2E Partner Service")
    assert application.check_secret(secret)
    assert page.locator("#client-id").inner_text() == application.client_id
    screenshot(page, "admin-secret-once")

    page.get_by_role("link", name="I have saved it — continue").click()
    page.wait_for_url(f"**/admin/oauth_provider/application/{application.pk}/change/")
    assert secret not in page.content()
    screenshot(page, "admin-client-change")
    page.reload()
    assert secret not in page.content()
