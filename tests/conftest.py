
import pytest
from django.db import connection

from oauth_provider import keys
from tests.factories import ApplicationFactory


def pytest_report_header(config):
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE']}"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL (real parallel connections); `make test` runs it when PostgreSQL is reachable"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """pytest-django's live server, started only once the test database exists.

    Started earlier, it sees SQLite's ``:memory:`` name and shares the test thread's connection, which
    its request-finished handler then closes under the test thread (a crash once the name is a file).
    """
    return live_server


# Key pairs generated so far in this test session, per algorithm. RSA generation costs up to a
# second; tests reuse pairs across tests (each test's rows are rolled back) but never within one.
_KEY_POOL: dict[str, list] = {}


@pytest.fixture(autouse=True)
def _reuse_generated_key_pairs(monkeypatch):
    """Hand each test the session's pooled key pairs in order, generating only when the pool runs out.

    ``keys.store.generate_key_pair`` is the documented seam: ``create_signing_key`` looks it up on each call.
    """
    from oauth_provider.keys import store

    generate = store.generate_key_pair
    taken: dict[str, int] = {}

    def pooled(algorithm: str):
        pool = _KEY_POOL.setdefault(algorithm, [])
        index = taken.get(algorithm, 0)
        taken[algorithm] = index + 1
        if index == len(pool):
            pool.append(generate(algorithm))
        private_key, jwk = pool[index]
        return private_key, dict(jwk)

    monkeypatch.setattr(store, "generate_key_pair", pooled)


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Signing keys cached by one test must not leak into the next (its rows are rolled back)."""
    keys.clear_cache()
    yield
    keys.clear_cache()


@pytest.fixture(autouse=True)
def revocations():
    """Each test gets an empty revocation list that counts as freshly read and never ages (no thread).

    It learns revocations the way the revoking process does (after commit: use
    ``django_capture_on_commit_callbacks``); tests of the refresh, the bound and the thread build their
    own ``RevocationList`` (tests/tokens/test_revocation_list.py).
    """
    from oauth_provider.tokens import revocation

    frozen = revocation.RevocationList(background=False, clock=lambda: 0.0)
    frozen.assume_read()
    previous = revocation.install(frozen)
    yield frozen
    revocation.install(previous)


@pytest.fixture(autouse=True)
def _empty_default_cache():
    """Rate-limit counters of one test must not reach the next."""
    from django.core.cache import caches

    caches["default"].clear()


@pytest.fixture
def application(db):
    return ApplicationFactory()


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def user(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def web_app(db):
    from tests.factories import WebApplicationFactory

    return WebApplicationFactory()


@pytest.fixture
def public_app(db):
    from tests.factories import PublicApplicationFactory

    return PublicApplicationFactory()


@pytest.fixture
def device_app(db):
    """A public device client (RFC 8628) allowed scopes read and write."""
    from tests.factories import DeviceApplicationFactory

    return DeviceApplicationFactory(name="Living Room TV")


@pytest.fixture
def user_client(client, user):
    """The Django test client, logged in as ``user``."""
    client.force_login(user)
    return client


@pytest.fixture
def user_tokens(user_client, web_app):
    """The token response of a code flow of ``user`` with ``web_app`` for scopes read and write."""
    from tests.helpers.flows import obtain_code, redeem

    return redeem(user_client, web_app, obtain_code(user_client, web_app, scope="read write")).json()


@pytest.fixture
def seeded(settings):
    """The example site's own OAuth settings (its issuer and scopes), with the demo data seeded."""
    import io

    from django.core.management import call_command

    from example_project import settings as example_settings

    settings.OAUTH_PROVIDER = {**example_settings.OAUTH_PROVIDER, "KEY_ENCRYPTION_KEYS": ["test"]}
    call_command("seed_demo", stdout=io.StringIO())
