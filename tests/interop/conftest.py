"""Fixtures shared by the interoperability tests: the live server as the issuer, a service client."""

import pytest
from django.core.cache import cache
from django.test import override_settings

from tests.factories import ApplicationFactory


@pytest.fixture
def live_issuer(live_server, settings):
    """The live server's URL, configured as ISSUER for the test."""
    cache.clear()
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "ISSUER": live_server.url}):
        yield live_server.url


@pytest.fixture
def service():
    return ApplicationFactory(allowed_scopes="read write")
