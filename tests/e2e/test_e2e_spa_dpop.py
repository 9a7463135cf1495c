"""The demo single-page app with DPoP (RFC 9449) in a real browser: a WebCrypto key that cannot be
exported, a code bound with dpop_jkt, bound tokens, API calls with proofs, a copied token refused,
a bound refresh, and server nonces at both the token endpoint and the API."""

from __future__ import annotations

import json

import pytest

from oauth_provider.models import AccessToken, AuthorizationCode, RefreshToken
from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_e2e_spa import SPA_PATH, open_spa, spa_sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

# Reads the key pair the app stored, and tries to export its private half (WebCrypto must refuse).
INSPECT_KEY = """
() => new Promise((resolve, reject) => {
  const opening = indexedDB.open("demo-spa-dpop", 1);
  opening.onerror = () => reject(opening.error);
  opening.onsuccess = () => {
    const request = opening.result.transaction("keys").objectStore("keys").get("dpop");
    request.onsuccess = () => {
      const pair = request.result;
      crypto.subtle.exportKey("jwk", pair.privateKey)
        .then(() => resolve({extractable: pair.privateKey.extractable, exported: true}))
        .catch(() => resolve({extractable: pair.privateKey.extractable, exported: false,
                              algorithm: pair.privateKey.algorithm.namedCurve}));
    };
  };
})
"""


def test_e2e_spa_gets_dpop_bound_tokens_and_a_copied_token_is_refused(site, page):
    open_spa(page, site)
    with page.expect_request(lambda request: "/oauth/authorize/" in request.url) as authorize:
        page.get_by_role("button", name="Sign in with the demo server").click()
    assert "dpop_jkt=" in authorize.value.url
    page.wait_for_url("**/accounts/login/**")

    sign_in(page, "alice", "alice-demo-password")
    page.wait_for_url("**/oauth/authorize/**")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_selector("#signed-in:not([hidden])")

    key = page.evaluate(INSPECT_KEY)
    assert key == {"extractable": False, "exported": False, "algorithm": "P-256"}

    claims = json.loads(page.locator("#token-claims").inner_text())
    jkt = claims["cnf"]["jkt"]
    assert page.locator("#token-badge").inner_text() == "DPoP-bound access token"
    assert jkt in page.locator("#dpop-status").inner_text()
    assert AuthorizationCode.objects.get(application__client_id="demo-spa").dpop_jkt == jkt
    assert AccessToken.objects.get(jti=claims["jti"]).dpop_jkt == jkt
    assert RefreshToken.objects.get(application__client_id="demo-spa").dpop_jkt == jkt
    screenshot(page, "spa-dpop-signed-in")

    page.get_by_role("button", name="GET /api/me", exact=True).click()
    page.wait_for_selector("#api-status:has-text('200')")
    assert json.loads(page.locator("#api-result").inner_text())["user"]["username"] == "alice"

    page.get_by_role("button", name="Call /api/me with the token alone (a copied token)").click()
    page.wait_for_selector("#api-status:has-text('401')")
    status = page.locator("#api-status").inner_text()
    assert 'error="invalid_token"' in status
    assert "bound to a DPoP key" in status
    screenshot(page, "spa-dpop-copied-token-refused")

    page.get_by_role("button", name="Refresh the tokens").click()
    page.wait_for_selector("#refresh-status:has-text('rotated 1 time')")
    refreshed = json.loads(page.locator("#token-claims").inner_text())
    assert refreshed["cnf"] == {"jkt": jkt}
    assert RefreshToken.objects.filter(application__client_id="demo-spa", dpop_jkt=jkt).count() == 2
    page.get_by_role("button", name="GET /api/me", exact=True).click()
    page.wait_for_selector("#api-status:has-text('GET /api/me → 200')")


def test_e2e_spa_follows_server_nonces(site, page, settings, console_errors):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "DPOP_NONCE_REQUIRED": True,
                               "RESOURCE_DPOP_NONCE_REQUIRED": True}
    spa_sign_in(page, site)
    assert page.locator("#token-badge").inner_text() == "DPoP-bound access token"
    log = page.locator("#log").inner_text()
    assert "asked for a DPoP nonce" in log
    page.get_by_role("button", name="GET /api/me", exact=True).click()
    page.wait_for_selector("#api-status:has-text('GET /api/me → 200')")
    assert page.url == site + SPA_PATH
    # The nonce round trips answered 400 and 401 on purpose; nothing else went wrong.
    assert [error for error in console_errors if "status of 40" not in error] == []
