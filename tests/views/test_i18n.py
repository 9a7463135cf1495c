"""The user-facing pages are translatable; French is shipped complete and switching the language works."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import WebApplicationFactory
from tests.helpers.flows import authorize_url

pytestmark = pytest.mark.django_db
LOCALE = Path(__file__).resolve().parents[2] / "oauth_provider" / "locale"


@pytest.fixture
def signed_in(user):
    def browser(language: str) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(user)
        return client
    return browser


def test_switching_the_language_changes_the_consent_page(signed_in):
    application = WebApplicationFactory(name="Photo Printer")
    english = signed_in("en").get(authorize_url(application)).content.decode()
    french = signed_in("fr").get(authorize_url(application)).content.decode()
    assert "to access your account?" in english and 'lang="en"' in english
    assert "à accéder à votre compte" in french and 'lang="fr"' in french
    assert ">Autoriser</button>" in french and ">Refuser</button>" in french
    assert "Photo Printer" in french


@pytest.mark.parametrize(("path", "french"), [
    ("/oauth/consents/", "Applications ayant accès à votre compte"),
    ("/oauth/device/verify/", "Connecter un appareil"),
    ("/oauth/device/verify/done/?outcome=approved", "Appareil connecté"),
    ("/oauth/authorize/?client_id=nobody&response_type=code", "Cette demande de connexion ne peut pas aboutir"),
])
def test_the_other_pages_are_french_too(signed_in, path, french):
    assert french in signed_in("fr").get(path).content.decode()


def test_the_french_catalogue_is_complete_and_compiled():
    po = LOCALE / "fr" / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_size > 1000
    text = po.read_text(encoding="utf-8")
    assert "#, fuzzy" not in text
    # Every msgid has a non-empty msgstr (the header excepted).
    entries = [e for e in text.split("\n\n") if 'msgid ""\nmsgstr ""\n"Project' not in e]
    assert entries and all('msgstr ""' not in e.replace('msgstr ""\n"', "X") for e in entries)


def test_the_committed_mo_matches_the_po(tmp_path):
    """The .mo is committed (no gettext needed to install); it must be the .po compiled."""
    import shutil

    if shutil.which("msgfmt") is None:
        pytest.skip("msgfmt (gettext) is not installed")
    po = LOCALE / "fr" / "LC_MESSAGES" / "django.po"
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(po)], check=True)
    assert compiled.read_bytes() == po.with_suffix(".mo").read_bytes()


def test_the_example_site_negotiates_the_language():
    from example_project import settings

    assert "django.middleware.locale.LocaleMiddleware" in settings.MIDDLEWARE
    assert ("fr", "Français") in settings.LANGUAGES
