"""End-to-end tests: the example site served on 127.0.0.1, driven by Debian's Chromium through Playwright.

Each test gets its own live server thread on 127.0.0.1 (a free port), the example site's OAuth
settings with that server as the issuer, and freshly seeded demo data (seeded after the issuer is
set, because the demo redirect URIs and CORS origin derive from it). The browser is launched per
test, so nothing leaks between tests. Screenshots land in ``tests/artifacts/screenshots/``.

Without the ``playwright`` package or without a Chromium binary the tests skip and say why; they
never download a browser (``playwright install`` is not used).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections

from example_project import settings as example_settings

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 15_000
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def chromium_path() -> str | None:
    """Debian's chromium, or the binary named by E2E_CHROMIUM."""
    candidate = os.environ.get("E2E_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None


def pytest_collection_modifyitems(config, items):
    """Skip every e2e test, with the reason, when the browser or the driver is missing."""
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed (pip install -r requirements/testing.txt)"
    else:
        if chromium_path() is None:
            reason = "no Chromium at /usr/bin/chromium (apt-get install chromium, or set E2E_CHROMIUM)"
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"end-to-end test skipped: {reason}")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def site(transactional_db, settings, monkeypatch) -> Iterator[str]:
    """The example site on http://127.0.0.1:<free port>, seeded, its URL as the issuer."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("127.0.0.1")
    server._live_server_modified_settings.enable()
    try:
        settings.OAUTH_PROVIDER = {
            **example_settings.OAUTH_PROVIDER,
            "ISSUER": server.url,
            "KEY_ENCRYPTION_KEYS": ["e2e-key-encryption-secret"],
            # The device client polls every second, so the device test stays short.
            "DEVICE_CODE_INTERVAL": 1,
        }
        call_command("seed_demo", stdout=io.StringIO())
        yield server.url
    finally:
        server._live_server_modified_settings.disable()
        server.stop()


@pytest.fixture
def browser(monkeypatch):
    """A headless Chromium for one test."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are still
    # synchronous, so Django's guard against ORM use inside a coroutine does not apply.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
            # The test's own ORM queries ran while Playwright's loop was set on this thread, so Django gave
            # them a connection of their own; close it here, or it outlives the test database.
            connections.close_all()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies, no storage) and page, with bounded timeouts."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    yield page
    context.close()


@pytest.fixture
def console_errors(page) -> list[str]:
    """What the page logged as errors (uncaught exceptions, CSP violations, failed loads)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact (tests/artifacts/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, username: str, password: str, button: str = "Sign in") -> None:
    """Fill a Django login form the way a person does (labels, then the button)."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=button).click()
