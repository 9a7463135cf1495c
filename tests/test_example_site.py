"""The example site: seeded demo data, a home page with curl commands that work."""

import html
import re
import shlex
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from example_project import demo
from oauth_provider.models import Application
from tests.helpers.flows import basic_auth

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


def shown_command(page: str, element_id: str) -> str:
    return html.unescape(re.search(rf'<pre id="{element_id}">(.+?)</pre>', page, re.S).group(1))


def run_curl(client, command: str, token: str = ""):
    """Run a ``curl -s [-u id:secret] [-d k=v]... [-H 'Name: value']... URL`` line through the test client."""
    words = [word.replace("$TOKEN", token) for word in shlex.split(command)]
    assert words[:2] == ["curl", "-s"], command
    options = dict(zip(words[2:-1:2], words[3:-1:2], strict=True)) if len(words) > 3 else {}
    data = [tuple(w.split("=", 1)) for i, w in enumerate(words) if words[i - 1] == "-d"]
    headers = {}
    if "-u" in options:
        headers["HTTP_AUTHORIZATION"] = basic_auth(*options["-u"].split(":", 1))
    for i, word in enumerate(words):
        if words[i - 1] == "-H":
            name, value = word.split(": ", 1)
            headers["HTTP_" + name.upper().replace("-", "_")] = value
    path = words[-1].removeprefix(demo.base_url())
    if data:
        return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded", **headers)
    return client.get(path, **headers)


def test_home_page_lists_clients_and_a_working_curl_command(client, settings):
    seed()
    page = client.get("/").content.decode()
    for spec in demo.CLIENTS:
        assert spec.client_id in page
    response = run_curl(client, shown_command(page, "curl-token"))
    assert response.status_code == 200, response.content


def test_home_page_metadata_and_jwks_commands_work(client):
    seed()
    page = client.get("/").content.decode()
    metadata = run_curl(client, shown_command(page, "curl-metadata"))
    assert metadata.json()["issuer"] == demo.base_url()
    assert run_curl(client, shown_command(page, "curl-jwks")).json()["keys"]


def test_home_page_api_commands_work_with_the_token_they_fetch(client):
    seed()
    page = client.get("/").content.decode()
    fetch_token = re.fullmatch(r"TOKEN=\$\((curl .+?) \| python3 -c .+\)", shown_command(page, "curl-api-token"))
    token = run_curl(client, fetch_token.group(1)).json()["access_token"]
    me = run_curl(client, shown_command(page, "curl-api-me"), token)
    assert me.status_code == 200, me.content
    assert me.json()["client_id"] == "demo-service"
    assert run_curl(client, shown_command(page, "curl-api-ping"), token).json()["pong"] is True


def test_home_page_links_the_spa_demo(client):
    assert 'href="/demo/spa/"' in client.get("/").content.decode()


def test_home_page_says_when_no_demo_data_is_seeded(client):
    assert "No demo data yet" in client.get("/").content.decode()


def test_login_page_renders_with_labels(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'for="id_username"' in page and 'for="id_password"' in page


def test_home_page_revoke_command_works_when_revocation_is_installed(client, django_capture_on_commit_callbacks):
    seed()
    page = client.get("/").content.decode()
    if 'id="curl-revoke"' not in page:
        pytest.skip("no revocation_endpoint advertised, so the home page shows no revoke command")
    fetch_token = re.fullmatch(r"TOKEN=\$\((curl .+?) \| python3 -c .+\)", shown_command(page, "curl-api-token"))
    token = run_curl(client, fetch_token.group(1)).json()["access_token"]
    assert run_curl(client, shown_command(page, "curl-api-me"), token).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert run_curl(client, shown_command(page, "curl-revoke"), token).status_code == 200
    # What the page promises ("/api/me answers 401"); other processes: tests/concurrency/test_multiprocess.py.
    assert "answers <code>401</code>" in page
    assert run_curl(client, shown_command(page, "curl-api-me"), token).status_code == 401


def test_home_page_device_command_works_when_the_device_flow_is_installed(client):
    seed()
    page = client.get("/").content.decode()
    if 'id="curl-device"' not in page:
        pytest.skip("no device_authorization_endpoint advertised, so the home page shows no device command")
    body = run_curl(client, shown_command(page, "curl-device")).json()
    assert body["user_code"] and body["verification_uri"].startswith(demo.base_url())



# --- the example's demo defaults are flagged off loopback ------------------------------------------


def _example_check_ids(**overrides):
    from django.test import override_settings

    from example_project.checks import check_demo_defaults

    with override_settings(**overrides):
        return sorted(message.id for message in check_demo_defaults())


def test_demo_defaults_on_a_non_loopback_host_are_flagged():
    from example_project.settings import DEMO_SECRET_KEY

    flagged = _example_check_ids(ALLOWED_HOSTS=["127.0.0.1", "192.168.1.20"], DEBUG=True, SECRET_KEY=DEMO_SECRET_KEY)
    assert flagged == ["example_project.W001", "example_project.W002"]
    assert _example_check_ids(ALLOWED_HOSTS=["*"], DEBUG=False, SECRET_KEY=DEMO_SECRET_KEY) == [
        "example_project.W002"]
    assert _example_check_ids(ALLOWED_HOSTS=["auth.example.com"], DEBUG=True, SECRET_KEY="x" * 60) == [
        "example_project.W001"]


def test_demo_defaults_on_loopback_are_fine():
    from example_project.settings import DEMO_SECRET_KEY

    assert _example_check_ids(ALLOWED_HOSTS=["127.0.0.1", "localhost", "[::1]"], DEBUG=True,
                              SECRET_KEY=DEMO_SECRET_KEY) == []


def test_the_example_check_runs_with_every_check():
    from django.core.checks import registry

    from example_project.checks import check_demo_defaults

    assert check_demo_defaults in registry.registry.get_checks(include_deployment_checks=False)


def _example_database_settings(debug: str) -> dict:
    import json
    import subprocess
    import sys
    from pathlib import Path

    names = ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")
    code = ("import json; from example_project import settings; "
            f"print(json.dumps({{k: settings.DATABASES['default'].get(k) for k in {names!r}}}))")
    env = {"PATH": "/usr/bin:/bin", "DEBUG": debug, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parent.parent, timeout=60)
    return json.loads(result.stdout)


def test_production_settings_keep_connections_with_health_checks():
    assert _example_database_settings("false") == {"CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}


def test_debug_settings_open_a_connection_per_request():
    found = _example_database_settings("true")
    assert not found["CONN_MAX_AGE"] and not found["CONN_HEALTH_CHECKS"]
