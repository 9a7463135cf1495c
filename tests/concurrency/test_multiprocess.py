"""Scale-out: two gunicorn servers of the example site share one PostgreSQL database and one cache.

The test creates a database of its own (not the pytest test database), migrates and seeds it with
``manage.py``, and starts two servers on free loopback ports, A and B. Then:

- a code issued by A (log-in and consent over HTTP) is redeemed at B, and both APIs accept the token;
- a key rotated with ``manage.py oauth_create_signing_key --activate`` is used by both without a restart;
- a revocation at A (refresh-token reuse revokes the family) is seen by B's API through the shared cache.

Every wait is bounded; the servers are killed and the database dropped in ``finally`` blocks.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
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
        # A cache both servers share: a table in the shared database (Redis in production).
        CACHE_URL="dbcache://oauth_mp_cache",
        DEBUG="False",
        ALLOWED_HOSTS="127.0.0.1",
        OAUTH_ISSUER=ISSUER,
        OAUTH_KEY_ENCRYPTION_KEYS="multi-process-test-key-encryption-secret",
        OAUTH_SIGNING_KEY_CACHE_SECONDS="1",
        OAUTH_RESOURCE_JWKS_MIN_REFETCH_SECONDS="1",
        OAUTH_RESOURCE_CHECK_REVOCATION="True",
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


def log_in(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/accounts/login/", timeout=HTTP_TIMEOUT)
    assert page.status_code == 200
    response = session.post(
        base + "/accounts/login/",
        data={"username": USER[0], "password": USER[1], "csrfmiddlewaretoken": session.cookies["csrftoken"]},
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


def test_a_revocation_at_one_server_is_seen_by_the_other(two_servers):
    _, a, b = two_servers
    code = authorization_code_from(a, log_in(a))
    first = token(a, WEB_CLIENT, grant_type="authorization_code", code=code,
                  redirect_uri=ISSUER + "/demo/callback/", code_verifier=VERIFIER).json()
    assert api_me(b, first["access_token"]) == 200
    rotated = token(b, WEB_CLIENT, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert rotated.status_code == 200
    # The rotated-away token comes back at A: reuse detected, the whole family revoked.
    reused = token(a, WEB_CLIENT, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.json()["error"] == "invalid_grant"
    assert api_me(b, first["access_token"]) == 401
    assert api_me(b, rotated.json()["access_token"]) == 401
    assert api_me(a, rotated.json()["access_token"]) == 401
