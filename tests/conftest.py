import base64

import pytest
from django.db import connection

from oauth_provider.keys import clear_key_cache

from .factories import ApplicationFactory


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


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Signing keys cached by one test must not leak into the next (its rows are rolled back)."""
    clear_key_cache()
    yield
    clear_key_cache()


@pytest.fixture
def application(db):
    return ApplicationFactory()


def basic_auth(client_id: str, secret: str) -> str:
    from urllib.parse import quote

    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def user(db):
    from .factories import UserFactory

    return UserFactory()


@pytest.fixture
def web_app(db):
    from .factories import WebApplicationFactory

    return WebApplicationFactory()


@pytest.fixture
def public_app(db):
    from .factories import PublicApplicationFactory

    return PublicApplicationFactory()


@pytest.fixture
def user_client(client, user):
    """The Django test client, logged in as ``user``."""
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """pytest-django's live server, started only once the test database exists. Started earlier (a
    file of live-server tests run alone), it still sees SQLite's ``:memory:`` name and shares the test
    thread's connection with its own threads, which crashes the interpreter."""
    return live_server
