"""Fixtures of the admin console tests."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory


@pytest.fixture
def staff_client(client):
    """The test client signed in as a superuser."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client
