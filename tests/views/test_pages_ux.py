"""Consent says whether the decision is remembered and offers "Not you? Sign out"; the trust warning is
on the decision pages only; verification_uri_complete is one click; the demo callback shows dates."""

from __future__ import annotations

import pytest

from tests.factories import WebApplicationFactory
from tests.helpers.flows import authorize_url

pytestmark = pytest.mark.django_db
TRUST = "Only continue if you trust the application that sent you here."


def test_consent_says_the_decision_is_remembered(user_client, settings):
    page = user_client.get(authorize_url(WebApplicationFactory())).content.decode()
    assert "Your decision to allow is remembered" in page


def test_consent_says_when_it_is_not_remembered(user_client, settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "REMEMBER_CONSENT": False}
    page = user_client.get(authorize_url(WebApplicationFactory())).content.decode()
    assert "Your decision is not remembered" in page


def test_consent_offers_to_sign_out_and_come_back(user_client):
    url = authorize_url(WebApplicationFactory())
    page = user_client.get(url).content.decode()
    assert "Not you?" in page and 'action="/accounts/logout/"' in page
    response = user_client.post("/accounts/logout/", {"next": url})
    assert response.status_code == 302 and response["Location"] == url
    assert user_client.get(url)["Location"].startswith("/accounts/login/")


def test_the_trust_warning_is_on_consent_only(user_client):
    assert TRUST in user_client.get(authorize_url(WebApplicationFactory())).content.decode()
    assert TRUST not in user_client.get("/oauth/consents/").content.decode()
    assert TRUST not in user_client.get("/oauth/device/verify/done/?outcome=approved").content.decode()


def test_callback_shows_iat_and_exp_as_dates(client, settings):
    import io
    import re

    from django.core.management import call_command

    from example_project import demo
    from example_project import settings as example_settings

    settings.OAUTH_PROVIDER = {**example_settings.OAUTH_PROVIDER, "KEY_ENCRYPTION_KEYS": ["test"]}
    call_command("seed_demo", stdout=io.StringIO())
    client.login(username="alice", password="alice-demo-password")
    authorize = client.get("/demo/start/")["Location"].removeprefix(demo.base_url())
    callback = client.post(authorize, {"decision": "allow"})["Location"].removeprefix(demo.base_url())
    page = client.get(callback).content.decode()
    for claim in ("iat", "exp"):
        assert re.search(rf'<time id="claim-{claim}" datetime="\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC">', page), claim


def test_the_consent_page_of_a_public_client_never_promises_to_remember(user_client, settings):
    """A public client asks every time (docs/SECURITY.md S29), so its page must not say otherwise."""
    from tests.factories import PublicApplicationFactory

    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "REMEMBER_CONSENT": True}
    page = user_client.get(authorize_url(PublicApplicationFactory(name="Pocket App"))).content.decode()
    assert "Your decision is not remembered: Pocket App will ask again next time." in page
    assert "Your decision to allow is remembered" not in page
