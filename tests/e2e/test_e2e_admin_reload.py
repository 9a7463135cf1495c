"""The admin in a real browser: reloading the "secret shown once" page creates no second client and shows
no secret again; the changelists fit a 1366 px screen; the French consent page. Screenshots of each."""

from __future__ import annotations

import pytest

from oauth_provider.models import Application
from tests.e2e.conftest import screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def add_client(site, page, name: str) -> None:
    page.goto(site + "/admin/oauth_provider/application/add/")
    if "/admin/login/" in page.url:
        sign_in(page, "admin", "admin-demo-password", button="Log in")
        page.wait_for_url("**/admin/oauth_provider/application/add/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Client type").select_option("confidential")
    page.get_by_label("Client credentials", exact=True).check()
    page.get_by_label("Allowed scopes").fill("read")
    page.get_by_role("button", name="Save", exact=True).click()


def test_e2e_reloading_the_secret_page_creates_no_second_client(site, page):
    add_client(site, page, "E2E Reload Service")
    page.wait_for_selector("#client-secret")
    secret = page.locator("#client-secret").inner_text()
    assert "/secret/" in page.url
    screenshot(page, "admin-secret-once-prg")
    page.reload()
    page.wait_for_load_state()
    assert Application.objects.filter(name="E2E Reload Service").count() == 1
    assert secret not in page.content()
    assert "already shown" in page.content()
    screenshot(page, "admin-secret-after-reload")
    page.go_back()
    page.reload()
    assert Application.objects.filter(name="E2E Reload Service").count() == 1


def test_e2e_add_form_refuses_a_client_without_scopes(site, page):
    page.goto(site + "/admin/oauth_provider/application/add/")
    sign_in(page, "admin", "admin-demo-password", button="Log in")
    page.wait_for_url("**/application/add/")
    page.get_by_label("Name").fill("E2E No Scopes")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector(".errornote")
    assert "at least one grant type" in page.content() and "at least one scope" in page.content()
    assert not Application.objects.filter(name="E2E No Scopes").exists()
    screenshot(page, "admin-add-client-errors")


@pytest.mark.parametrize("model", ["application", "accesstoken", "refreshtoken", "signingkey"])
def test_e2e_changelists_fit_1366_pixels(site, browser, model):
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        # Rows to list, with the longest values: an access token and a refresh token of a demo client.
        from django.contrib.auth import get_user_model

        from oauth_provider.tokens.issue import issue_access_token, issue_refresh_token

        application = Application.objects.get(client_id="demo-web")
        alice = get_user_model().objects.get(username="alice")
        issue_access_token(application=application, user=alice, scope=["read", "write", "notes:delete"],
                           grant_type="authorization_code")
        issue_refresh_token(application=application, user=alice, scope="read write notes:delete")
        page.goto(f"{site}/admin/oauth_provider/{model}/")
        sign_in(page, "admin", "admin-demo-password", button="Log in")
        page.wait_for_url(f"**/admin/oauth_provider/{model}/")
        screenshot(page, f"admin-{model}-list-1366")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the {model} list is {overflow}px wider than the screen"
        last = page.locator("#result_list thead th").last
        box = last.bounding_box()
        assert box is None or box["x"] + box["width"] <= 1366 + 1
    finally:
        context.close()


def test_e2e_consent_page_in_french(site, browser):
    context = browser.new_context(locale="fr-FR", extra_http_headers={"Accept-Language": "fr"})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(site + "/demo/start/")
        page.locator("#id_username").fill("alice")
        page.locator("#id_password").fill("alice-demo-password")
        page.locator("button[type=submit]").click()
        page.wait_for_selector("text=à accéder à votre compte")
        assert page.get_by_role("button", name="Autoriser").is_visible()
        screenshot(page, "consent-fr")
    finally:
        context.close()
