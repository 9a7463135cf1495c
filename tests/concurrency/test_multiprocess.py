"""Scale-out: two gunicorn servers of the example site share one PostgreSQL database (and no cache).

The test creates a database of its own (not the pytest test database), migrates and seeds it with
``manage.py``, and starts two servers on free loopback ports, A and B. Then:

- a code issued by A (log-in and consent over HTTP) is redeemed at B, and both APIs accept the token;
- a key rotated with ``manage.py oauth_create_signing_key --activate`` is used by both without a restart;
- every way of revoking an access token, done at A or in a third process (``manage.py shell``), makes
  /api/me at A and at B answer 401 within the bound (RESOURCE_REVOCATION_MAX_AGE, 2 s by default) with
  the default settings: docs/SECURITY.md S26. Each server has its own per-process cache, so nothing
  but the database carries the revocation.

Every wait is bounded; the servers are killed and the database dropped in ``finally`` blocks.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.conf import settings

from oauth_provider.crypto import pkce_s256

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
# Never contacted; the same issuer for both servers: one authorization server, two workers.
ISSUER = "http://127.0.0.1:8000"
WEB_CLIENT = ("demo-web", "demo-web-secret-not-for-production-000000001")
SERVICE_CLIENT = ("demo-service", "demo-service-secret-not-for-production-0001")
USER = ("alice", "alice-demo-password")
VERIFIER = "multi-process-verifier-" + "x" * 30
START_TIMEOUT = 30
WAIT_TIMEOUT = 20
HTTP_TIMEOUT = 10
# The README's bound (RESOURCE_REVOCATION_MAX_AGE's default), and what a loaded test machine adds to it
# (the HTTP round trips of the polling itself).
REVOCATION_BOUND = 2.0
REVOCATION_SLACK = 1.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(name: str) -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@contextmanager
def scratch_database():
    """A new, empty PostgreSQL database on the test server; dropped at the end."""
    import psycopg

    db = settings.DATABASES["default"]
    name = f"oauth_mp_{uuid.uuid4().hex[:12]}"
    params = {
        "host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"],
        "password": db.get("PASSWORD") or None, "dbname": "postgres", "autocommit": True, "connect_timeout": 10,
    }
    with psycopg.connect(**params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(**params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _environment(database: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="example_project.settings",
        DATABASE_URL=_database_url(database),
        # A cache of its own per process: revocations must reach the other server through the database.
        CACHE_URL="locmemcache://",
        DEBUG="False",
        ALLOWED_HOSTS="127.0.0.1",
        OAUTH_ISSUER=ISSUER,
        OAUTH_KEY_ENCRYPTION_KEYS="multi-process-test-key-encryption-secret",
        OAUTH_SIGNING_KEY_CACHE_SECONDS="1",
        OAUTH_RESOURCE_JWKS_MIN_REFETCH_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@contextmanager
def gunicorn(env: dict[str, str], log: Path):
    """One gunicorn server of the example site on a free loopback port; yields its base URL."""
    port = _free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--timeout", "30", "example_project.wsgi:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                assert process.poll() is None, f"gunicorn exited: {log.read_text()[-2000:]}"
                try:
                    if requests.get(base + "/oauth/jwks/", timeout=5).status_code == 200:
                        break
                except requests.RequestException:  # not listening yet, or still starting up
                    pass
                assert time.monotonic() < deadline, f"gunicorn did not answer in time: {log.read_text()[-2000:]}"
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_until(condition, what: str):
    """Poll ``condition`` (cache expiry in another process cannot be faked) for at most WAIT_TIMEOUT s."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def log_in(base: str, user: tuple[str, str] = USER) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/accounts/login/", timeout=HTTP_TIMEOUT)
    assert page.status_code == 200
    response = session.post(
        base + "/accounts/login/",
        data={"username": user[0], "password": user[1], "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False, timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def authorization_code_from(base: str, session: requests.Session) -> str:
    query = urlencode({
        "response_type": "code", "client_id": WEB_CLIENT[0], "redirect_uri": ISSUER + "/demo/callback/",
        "scope": "read", "state": "mp", "code_challenge": pkce_s256(VERIFIER), "code_challenge_method": "S256",
    })
    url = f"{base}/oauth/authorize/?{query}"
    consent = session.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)
    if consent.status_code == 302:  # consent remembered from an earlier test
        return parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    assert consent.status_code == 200, consent.status_code
    decision = session.post(
        url, data={"decision": "allow", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": url}, allow_redirects=False, timeout=HTTP_TIMEOUT,
    )
    assert decision.status_code == 303, decision.text[:500]
    return parse_qs(urlsplit(decision.headers["Location"]).query)["code"][0]


def token(base: str, client: tuple[str, str], **data: str) -> requests.Response:
    return requests.post(base + "/oauth/token/", data=data, auth=client, timeout=HTTP_TIMEOUT)


def api_me(base: str, access_token: str) -> int:
    return requests.get(base + "/api/me", headers={"Authorization": f"Bearer {access_token}"},
                        timeout=HTTP_TIMEOUT).status_code


def refused_within_bound(servers, access_token: str, since: float) -> float:
    """Poll /api/me on every server until all answer 401; the seconds that took since ``since``
    (when the revocation returned), asserted within the bound."""
    pending = list(servers)
    while pending:
        pending = [base for base in pending if api_me(base, access_token) != 401]
        elapsed = time.monotonic() - since
        assert elapsed <= REVOCATION_BOUND + REVOCATION_SLACK, f"{pending} still accept the token after {elapsed:.2f}s"
        if pending:
            time.sleep(0.05)
    return elapsed


def shell(env: dict[str, str], code: str) -> str:
    """Run ``code`` in a third process (``manage.py shell``): neither server is told anything."""
    return manage(env, "shell", "-c", code)


def user_token(base: str, user: tuple[str, str] = USER) -> dict:
    code = authorization_code_from(base, log_in(base, user))
    response = token(base, WEB_CLIENT, grant_type="authorization_code", code=code,
                     redirect_uri=ISSUER + "/demo/callback/", code_verifier=VERIFIER)
    assert response.status_code == 200, response.text
    return response.json()


def service_token(base: str, client: tuple[str, str] = SERVICE_CLIENT) -> str:
    response = token(base, client, grant_type="client_credentials", scope="read")
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def jti_of(access_token: str) -> str:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    if importlib.util.find_spec("gunicorn") is None:
        pytest.skip("gunicorn is not installed (requirements/testing.txt pins it)")
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("needs PostgreSQL")
    logs = tmp_path_factory.mktemp("gunicorn")
    with ExitStack() as stack:
        database = stack.enter_context(scratch_database())
        env = _environment(database)
        manage(env, "migrate", "--noinput")
        manage(env, "createcachetable")
        manage(env, "seed_demo")
        server_a = stack.enter_context(gunicorn(env, logs / "a.log"))
        server_b = stack.enter_context(gunicorn(env, logs / "b.log"))
        yield env, server_a, server_b


def test_a_code_issued_by_one_server_is_redeemed_at_the_other(two_servers):
    _, a, b = two_servers
    code = authorization_code_from(a, log_in(a))
    response = token(b, WEB_CLIENT, grant_type="authorization_code", code=code,
                     redirect_uri=ISSUER + "/demo/callback/", code_verifier=VERIFIER)
    assert response.status_code == 200, response.text
    access_token = response.json()["access_token"]
    assert api_me(a, access_token) == 200
    assert api_me(b, access_token) == 200
    # And it stays single use across servers.
    again = token(a, WEB_CLIENT, grant_type="authorization_code", code=code,
                  redirect_uri=ISSUER + "/demo/callback/", code_verifier=VERIFIER)
    assert again.json()["error"] == "invalid_grant"


def test_a_key_rotated_with_the_command_is_used_by_both_servers_without_restart(two_servers):
    env, a, b = two_servers
    before = token(a, SERVICE_CLIENT, grant_type="client_credentials").json()["access_token"]
    assert api_me(b, before) == 200  # B has loaded the current keys
    manage(env, "oauth_create_signing_key", "--activate")
    old_kid = kid_of(before)

    def new_token_from(server):
        issued = token(server, SERVICE_CLIENT, grant_type="client_credentials").json()["access_token"]
        return issued if kid_of(issued) != old_kid else None

    from_a = wait_until(lambda: new_token_from(a), "server A to sign with the new key")
    from_b = wait_until(lambda: new_token_from(b), "server B to sign with the new key")
    assert kid_of(from_a) == kid_of(from_b)
    # Each API verifies the other's tokens signed with the new key, and older ones still verify.
    assert wait_until(lambda: api_me(b, from_a) == 200, "server B to verify the new key")
    assert wait_until(lambda: api_me(a, from_b) == 200, "server A to verify the new key")
    assert api_me(b, before) == 200


@pytest.mark.security("S26")
def test_a_refresh_reuse_at_one_server_is_refused_by_both_within_the_bound(two_servers):
    _, a, b = two_servers
    first = user_token(a)
    assert api_me(b, first["access_token"]) == 200
    rotated = token(b, WEB_CLIENT, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert rotated.status_code == 200
    assert api_me(b, rotated.json()["access_token"]) == 200
    # The rotated-away token comes back at A: reuse detected, the whole family revoked.
    reused = token(a, WEB_CLIENT, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.json()["error"] == "invalid_grant"
    since = time.monotonic()
    refused_within_bound([a, b], first["access_token"], since)
    refused_within_bound([a, b], rotated.json()["access_token"], since)


@pytest.mark.security("S26")
def test_an_rfc7009_revocation_at_one_server_is_refused_by_both_within_the_bound(two_servers):
    _, a, b = two_servers
    access_token = service_token(a)
    assert api_me(b, access_token) == 200
    response = requests.post(a + "/oauth/revoke/", data={"token": access_token}, auth=SERVICE_CLIENT,
                             timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
    refused_within_bound([a, b], access_token, time.monotonic())
    assert api_me(b, service_token(b)) == 200  # other tokens are untouched


@pytest.mark.security("S26")
def test_a_code_replay_is_refused_by_both_within_the_bound(two_servers):
    _, a, b = two_servers
    code = authorization_code_from(a, log_in(a))
    first = token(a, WEB_CLIENT, grant_type="authorization_code", code=code,
                  redirect_uri=ISSUER + "/demo/callback/", code_verifier=VERIFIER)
    assert api_me(b, first.json()["access_token"]) == 200
    again = token(b, WEB_CLIENT, grant_type="authorization_code", code=code,
                  redirect_uri=ISSUER + "/demo/callback/", code_verifier=VERIFIER)
    assert again.json()["error"] == "invalid_grant"
    refused_within_bound([a, b], first.json()["access_token"], time.monotonic())


@pytest.mark.security("S26")
def test_a_consent_withdrawn_at_one_server_is_refused_by_both_within_the_bound(two_servers):
    _, a, b = two_servers
    session = log_in(a)
    code = authorization_code_from(a, session)
    issued = token(a, WEB_CLIENT, grant_type="authorization_code", code=code,
                   redirect_uri=ISSUER + "/demo/callback/", code_verifier=VERIFIER).json()
    assert api_me(b, issued["access_token"]) == 200
    page = session.get(a + "/oauth/consents/", timeout=HTTP_TIMEOUT).text
    consent_id = re.search(r"/oauth/consents/(\d+)/revoke/", page).group(1)
    response = session.post(a + f"/oauth/consents/{consent_id}/revoke/",
                            data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
                            headers={"Referer": a + "/oauth/consents/"}, allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert response.status_code in (302, 303), response.text[:500]
    refused_within_bound([a, b], issued["access_token"], time.monotonic())


@pytest.mark.security("S26")
def test_a_client_deactivated_in_another_process_is_refused_by_both_within_the_bound(two_servers):
    env, a, b = two_servers
    access_token = service_token(a)
    assert api_me(b, access_token) == 200
    # Deactivated and reactivated at once: a 401 is the revocation, not the inactive client.
    shell(env, "from oauth_provider.models import Application\n"
               "client = Application.objects.get(client_id='demo-service')\n"
               "client.is_active = False; client.save()\n"
               "client.is_active = True; client.save()")
    refused_within_bound([a, b], access_token, time.monotonic())
    assert api_me(b, service_token(b)) == 200


@pytest.mark.security("S26")
def test_a_client_deleted_in_another_process_is_refused_by_both_within_the_bound(two_servers):
    env, a, b = two_servers
    created = json.loads(manage(env, "oauth_create_client", "Short-lived service", "--client-id", "mp-doomed",
                                "--grant-type", "client_credentials", "--scope", "read", "--json"))
    access_token = service_token(a, (created["client_id"], created["client_secret"]))
    assert api_me(b, access_token) == 200
    shell(env, "from oauth_provider.models import Application\n"
               "Application.objects.get(client_id='mp-doomed').delete()")
    refused_within_bound([a, b], access_token, time.monotonic())


@pytest.mark.security("S26")
def test_a_user_deactivated_in_another_process_is_refused_by_both_within_the_bound(two_servers):
    env, a, b = two_servers
    issued = user_token(a, ("bob", "bob-demo-password"))
    assert api_me(b, issued["access_token"]) == 200
    # Reactivated at once: a 401 is the revocation, not the inactive user.
    shell(env, "from django.contrib.auth import get_user_model\n"
               "user = get_user_model().objects.get(username='bob')\n"
               "user.is_active = False; user.save()\n"
               "user.is_active = True; user.save()")
    refused_within_bound([a, b], issued["access_token"], time.monotonic())
    refused = token(b, WEB_CLIENT, grant_type="refresh_token", refresh_token=issued["refresh_token"])
    assert refused.json()["error"] == "invalid_grant"


@pytest.mark.security("S26")
def test_a_user_deleted_in_another_process_is_refused_by_both_within_the_bound(two_servers):
    env, a, b = two_servers
    carol = ("carol", "carol-multi-process-password")
    shell(env, "from django.contrib.auth import get_user_model\n"
               f"get_user_model().objects.create_user({carol[0]!r}, password={carol[1]!r})")
    issued = user_token(a, carol)
    assert api_me(b, issued["access_token"]) == 200
    shell(env, "from django.contrib.auth import get_user_model\n"
               "get_user_model().objects.get(username='carol').delete()")
    refused_within_bound([a, b], issued["access_token"], time.monotonic())


@pytest.mark.security("S26")
def test_an_access_token_deleted_in_the_admin_is_refused_by_both_within_the_bound(two_servers):
    env, a, b = two_servers
    access_token = service_token(a)
    assert api_me(b, access_token) == 200
    # The admin's delete (what its delete page and bulk delete call), in a third process.
    shell(env, "from django.contrib import admin\n"
               "from oauth_provider.models import AccessToken\n"
               "console = admin.site._registry[AccessToken]\n"
               f"console.delete_queryset(None, AccessToken.objects.filter(jti={jti_of(access_token)!r}))")
    refused_within_bound([a, b], access_token, time.monotonic())


@pytest.mark.security("S26")
def test_tokens_of_a_deleted_signing_key_are_refused_by_both_within_the_bound(two_servers):
    env, a, b = two_servers
    old = service_token(a)
    old_kid = kid_of(old)
    assert api_me(b, old) == 200
    manage(env, "oauth_create_signing_key", "--activate")  # the old key is retired, still verifies
    assert api_me(b, old) == 200
    shell(env, f"from oauth_provider.models import SigningKey\nSigningKey.objects.get(kid={old_kid!r}).delete()")
    refused_within_bound([a, b], old, time.monotonic())
    # And it would fail anyway once each server reloads its keys: the kid is gone from the key set that
    # verifies it (and from the JWKS that remote resource servers use).
    for base in (a, b):
        wait_until(lambda base=base: old_kid not in {key["kid"] for key in
                                                     requests.get(base + "/oauth/jwks/", timeout=HTTP_TIMEOUT)
                                                     .json()["keys"]}, "the deleted key to leave the JWKS")
    fresh = wait_until(lambda: (lambda t: t if kid_of(t) != old_kid else None)(service_token(a)),
                       "server A to sign with the new key")
    assert api_me(b, fresh) == 200
