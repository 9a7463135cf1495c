"""The example site's demo web client: start → login → consent → callback with verified claims."""

import io

import pytest
from django.core.management import call_command

from example_project import demo
from example_project import settings as example_settings

from .flows import query_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings):
    """The example site's own OAuth settings (its issuer and scopes), with the demo data seeded."""
    settings.OAUTH_PROVIDER = {**example_settings.OAUTH_PROVIDER, "KEY_ENCRYPTION_KEYS": ["test"]}
    call_command("seed_demo", stdout=io.StringIO())


def local(url: str) -> str:
    return url.removeprefix(demo.base_url())


def test_home_links_the_demo_flow(client, seeded):
    assert b'href="/demo/start/"' in client.get("/").content


def test_demo_web_flow_ends_with_token_claims(client, seeded):
    alice = next(u for u in demo.USERS if u.username == "alice")
    assert client.login(username=alice.username, password=alice.password)
    start = client.get("/demo/start/")
    authorize = local(start["Location"])
    consent = client.get(authorize)
    assert consent.status_code == 200
    decision = client.post(authorize, {"decision": "allow"})
    callback = decision["Location"]
    assert query_of(callback)["iss"] == demo.base_url()
    page = client.get(local(callback))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Tokens received" in body
    assert "demo-web" in body


def test_callback_with_wrong_state_exchanges_nothing(client, seeded):
    page = client.get("/demo/callback/?code=x&state=forged&iss=" + demo.base_url())
    assert "did not complete" in page.content.decode()
