import base64

import pytest
from django.db import connection

from oauth_provider.keys import clear_key_cache
from oauth_provider.resource.validator import reset_validator

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
    reset_validator()
    yield
    clear_key_cache()
    reset_validator()


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
