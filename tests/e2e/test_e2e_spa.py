"""The demo single-page app in a real browser: PKCE S256 in the page, consent, API calls, refresh, revoke."""

from __future__ import annotations

import json

import pytest
import requests

from oauth_provider.models import AccessToken, Application, RefreshToken
from oauth_provider.tokens.revocation import is_jti_revoked
from tests.e2e.conftest import screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SPA_PATH = "/demo/spa/"


def metadata(site: str) -> dict:
    response = requests.get(f"{site}/.well-known/oauth-authorization-server", timeout=10,
                            headers={"Connection": "close"})
    response.raise_for_status()
    return response.json()


def open_spa(page, site: str) -> None:
    page.goto(site + SPA_PATH)
    page.wait_for_selector("#sign-in:enabled")


def spa_sign_in_until_consent(page, site: str) -> None:
    open_spa(page, site)
    page.get_by_role("button", name="Sign in with the demo server").click()
    page.wait_for_url("**/accounts/login/**")
    sign_in(page, "alice", "alice-demo-password")
    page.wait_for_url("**/oauth/authorize/**")


def spa_sign_in(page, site: str) -> None:
    spa_sign_in_until_consent(page, site)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_selector("#signed-in:not([hidden])")


def test_e2e_spa_signs_in_with_pkce_calls_the_api_and_refreshes(site, page, console_errors):
    open_spa(page, site)
    screenshot(page, "spa-signed-out")

    page.get_by_role("button", name="Sign in with the demo server").click()
    page.wait_for_url("**/accounts/login/**")
    authorize_request = page.url
    assert "code_challenge_method%3DS256" in authorize_request
    screenshot(page, "login")
    sign_in(page, "alice", "alice-demo-password")

    page.wait_for_url("**/oauth/authorize/**")
    page.get_by_role("heading", name="Allow Demo Single-Page App to access your account?").wait_for()
    assert page.get_by_text("Read your profile and notes").is_visible()
    assert page.get_by_text("Create and change your notes").is_visible()
    screenshot(page, "consent")
    page.get_by_role("button", name="Allow").click()

    page.wait_for_selector("#signed-in:not([hidden])")
    # The code left the address bar; the flow's verifier and state left sessionStorage; no token was stored.
    assert page.url == site + SPA_PATH
    assert page.evaluate("sessionStorage.length") == 0
    assert page.evaluate("localStorage.length") == 0
    claims = json.loads(page.locator("#token-claims").inner_text())
    header = json.loads(page.locator("#token-header").inner_text())
    assert header["typ"] == "at+jwt"
    assert claims["client_id"] == "demo-spa"
    assert claims["iss"] == site
    assert claims["scope"] == "openid read write"  # the SPA signs in with OpenID Connect too
    assert "received with the first tokens" in page.locator("#refresh-status").inner_text()
    screenshot(page, "spa-signed-in")

    page.get_by_role("button", name="GET /api/me").click()
    page.wait_for_selector("#api-status:has-text('200')")
    assert json.loads(page.locator("#api-result").inner_text())["user"]["username"] == "alice"

    page.get_by_label("A new note").fill("Buy milk")
    page.get_by_role("button", name="POST /api/notes/").click()
    page.wait_for_selector("#api-status:has-text('201')")
    page.get_by_role("button", name="GET /api/notes/").click()
    page.wait_for_selector("#api-status:has-text('GET /api/notes/')")
    assert [note["text"] for note in json.loads(page.locator("#api-result").inner_text())] == ["Buy milk"]
    screenshot(page, "spa-api-call")

    first_jti = claims["jti"]
    page.get_by_role("button", name="Refresh the tokens").click()
    page.wait_for_selector("#refresh-status:has-text('rotated 1 time')")
    assert json.loads(page.locator("#token-claims").inner_text())["jti"] != first_jti
    family = RefreshToken.objects.filter(application__client_id="demo-spa")
    assert family.count() == 2
    assert family.filter(used_at__isnull=False).count() == 1
    assert "a new refresh token" in page.locator("#spa-notice").inner_text()
    screenshot(page, "spa-refreshed")
    assert console_errors == []


def test_e2e_spa_shows_revoke_only_when_the_server_advertises_revocation(site, page):
    spa_sign_in(page, site)
    advertised = "revocation_endpoint" in metadata(site)
    assert page.get_by_role("button", name="Revoke the tokens").is_visible() is advertised


def test_e2e_spa_revoke_revokes_the_refresh_family_and_forgets_the_tokens(site, page, console_errors):
    if "revocation_endpoint" not in metadata(site):
        pytest.skip("the server advertises no revocation_endpoint (RFC 7009 endpoint not installed)")
    spa_sign_in(page, site)
    page.get_by_role("button", name="Revoke the tokens").click()
    page.wait_for_selector("#signed-out:not([hidden])")
    assert "Revoked" in page.locator("#spa-notice").inner_text()
    assert not RefreshToken.objects.filter(application__client_id="demo-spa", revoked_at__isnull=True).exists()
    assert not AccessToken.objects.filter(application__client_id="demo-spa", revoked_at__isnull=True).exists()
    # What the notice says: the server's API refuses them (here at once; other processes within 2 s,
    # tests/concurrency/test_multiprocess.py).
    issued = list(AccessToken.objects.filter(application__client_id="demo-spa").values_list("jti", flat=True))
    assert issued and all(is_jti_revoked(jti) for jti in issued)
    assert "no longer accepts these tokens" in page.locator("#spa-notice").inner_text()
    screenshot(page, "spa-revoked")
    assert console_errors == []


def test_e2e_spa_deny_shows_access_denied(site, page, console_errors):
    spa_sign_in_until_consent(page, site)
    page.get_by_role("button", name="Deny").click()
    page.wait_for_selector("#spa-error:not([hidden])")
    assert page.locator("#spa-error-title").inner_text() == "access_denied"
    assert page.get_by_role("button", name="Sign in with the demo server").is_visible()
    assert page.url == site + SPA_PATH
    assert not AccessToken.objects.filter(application__client_id="demo-spa").exists()
    screenshot(page, "spa-access-denied")
    assert console_errors == []


def test_e2e_spa_refuses_a_response_with_a_forged_state(site, page):
    open_spa(page, site)
    page.goto(f"{site}{SPA_PATH}?code=stolen-code&state=forged&iss={site}")
    page.wait_for_selector("#spa-error:not([hidden])")
    assert page.locator("#spa-error-title").inner_text() == "invalid_state"
    assert page.url == site + SPA_PATH


def test_e2e_spa_page_has_a_strict_content_security_policy(site, page):
    response = page.goto(site + SPA_PATH)
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script>" not in page.content()


def test_e2e_demo_spa_registers_the_site_origin_for_cors(site):
    assert Application.objects.get(client_id="demo-spa").origin_list == [site]
