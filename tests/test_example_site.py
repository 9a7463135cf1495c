"""The example site: seeded demo data, a home page with curl commands that work."""

import shlex
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from example_project import demo
from oauth_provider.models import Application

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def example_site_settings(settings):
    """The example site's own OAuth settings (its issuer is a loopback URL, its scopes the demo's)."""
    from example_project import settings as example_settings

    settings.OAUTH_PROVIDER = {**example_settings.OAUTH_PROVIDER, "ISSUER": "http://127.0.0.1:8000"}


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_is_idempotent():
    seed()
    seed()
    assert Application.objects.count() == len(demo.CLIENTS)
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.filter(username__in=[u.username for u in demo.USERS]).count() == len(demo.USERS)


def test_seed_prints_users_clients_and_urls():
    output = seed()
    assert "alice / alice-demo-password" in output
    assert "demo-service" in output
    assert "/.well-known/oauth-authorization-server" in output


def test_home_page_lists_clients_and_a_working_curl_command(client, settings):
    seed()
    page = client.get("/").content.decode()
    for spec in demo.CLIENTS:
        assert spec.client_id in page
    # Run the curl command shown on the page through the test client.
    import html
    import re

    command = html.unescape(re.search(r'<pre id="curl-token">(.+?)</pre>', page).group(1))
    words = shlex.split(command)
    user, secret = words[words.index("-u") + 1].split(":", 1)
    data = dict(w.split("=", 1) for i, w in enumerate(words) if words[i - 1] == "-d")
    from .conftest import basic_auth

    response = client.post(words[-1].removeprefix(demo.base_url()), urlencode(data),
                           content_type="application/x-www-form-urlencoded",
                           HTTP_AUTHORIZATION=basic_auth(user, secret))
    assert response.status_code == 200, response.content


def test_home_page_says_when_no_demo_data_is_seeded(client):
    assert "No demo data yet" in client.get("/").content.decode()


def test_login_page_renders_with_labels(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'for="id_username"' in page and 'for="id_password"' in page
