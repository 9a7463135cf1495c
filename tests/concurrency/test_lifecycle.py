"""Lifecycle limits under real concurrency: an initial access token's uses, key rotation."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from oauth_provider.keys.rotation import rotate_signing_key
from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import Application, InitialAccessToken, KeyState, SigningKey
from tests.helpers.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_parallel_registrations_never_exceed_the_initial_access_tokens_uses(settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "REGISTRATION_MODE": "initial_access_token"}
    row = InitialAccessToken(expires_at=timezone.now() + timedelta(days=1), max_uses=3)
    token = row.generate_token()
    row.save()
    body = json.dumps({"client_name": "Racer", "grant_types": ["client_credentials"]})
    results = race(lambda client: client.post("/oauth/register/", data=body, content_type="application/json",
                                              HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert [status for status, _ in results].count(201) == 3
    assert Application.objects.count() == 3
    assert InitialAccessToken.objects.get().uses == 3


def test_parallel_rotations_leave_exactly_one_active_key():
    get_signing_key()
    barrier = threading.Barrier(5)
    errors = []

    def worker():
        try:
            barrier.wait()
            rotate_signing_key()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert SigningKey.objects.filter(state=KeyState.ACTIVE).count() == 1
    assert SigningKey.objects.filter(state=KeyState.RETIRED).count() == 5
