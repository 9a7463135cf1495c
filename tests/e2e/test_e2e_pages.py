"""The example site's pages in a real browser: home, the demo-web callback, the error page, consents."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_e2e_home_page_links_every_flow(site, page, console_errors):
    page.goto(site + "/")
    page.get_by_role("heading", name="An OAuth 2.0 authorization server in a Django app").wait_for()
    for name in ["Start the authorization flow", "Open the SPA demo"]:
        assert page.get_by_role("link", name=name).is_visible()
    metadata_link = page.get_by_role("link", name="Server metadata")
    assert metadata_link.get_attribute("href") == "/.well-known/oauth-authorization-server"
    screenshot(page, "home")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "home-mobile")
    assert console_errors == []


def test_e2e_skip_link_is_the_first_stop_for_the_keyboard(site, page):
    page.goto(site + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_e2e_demo_web_callback_shows_the_token_as_json(site, page, console_errors):
    page.goto(site + "/")
    page.get_by_role("link", name="Start the authorization flow").click()
    page.wait_for_url("**/accounts/login/**")
    sign_in(page, "bob", "bob-demo-password")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("**/demo/callback/**")
    page.get_by_role("heading", name="Tokens received").wait_for()
    header = json.loads(page.locator("#token-header").inner_text())
    claims = json.loads(page.locator("#token-claims").inner_text())
    assert header["typ"] == "at+jwt"
    assert claims["client_id"] == "demo-web"
    assert claims["iss"] == site
    screenshot(page, "callback")

    page.get_by_role("link", name="Manage consents").click()
    page.get_by_role("cell", name="Demo Web App").first.wait_for()
    screenshot(page, "consents")
    page.get_by_role("button", name="Revoke access of Demo Web App").click()
    page.get_by_text("No application has remembered access to your account.").wait_for()
    assert console_errors == []


def test_e2e_error_page_for_an_unknown_client_does_not_redirect(site, page):
    page.goto(site + "/accounts/login/")
    sign_in(page, "alice", "alice-demo-password")
    response = page.goto(f"{site}/oauth/authorize/?response_type=code&client_id=unknown-client"
                         "&redirect_uri=https%3A%2F%2Fattacker.example%2Fcb")
    assert response.status == 400
    assert page.url.startswith(site)
    page.get_by_role("heading", name="This sign-in request cannot be completed").wait_for()
    assert page.get_by_role("alert").is_visible()
    screenshot(page, "error-page")


def test_e2e_login_page_says_when_the_password_is_wrong(site, page):
    page.goto(site + "/accounts/login/")
    sign_in(page, "alice", "not-her-password")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "didn't match" in alert.inner_text()
    assert page.get_by_label("Password").get_attribute("aria-invalid") == "true"
    screenshot(page, "login-error")
