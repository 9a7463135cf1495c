"""Lifecycle limits under real concurrency: an initial access token's uses, key rotation, and a client's
deactivation and deletion (of concurrent ones, exactly one revokes and audits, with the true counts)."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oauth_provider import audit, crypto
from oauth_provider.clients import lifecycle
from oauth_provider.keys.rotation import rotate_signing_key
from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import Application, AuditEvent, InitialAccessToken, KeyState, SigningKey
from tests.clients.test_lifecycle import Tokens
from tests.factories import ApplicationFactory
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


def in_parallel(*work) -> list:
    """Run each callable in its own thread (and database connection), released together; their results."""
    barrier = threading.Barrier(len(work))
    results: list = [None] * len(work)

    def worker(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_parallel_deactivations_revoke_and_audit_once_with_the_true_counts():
    tokens = Tokens(ApplicationFactory())
    pk = tokens.application.pk

    def by_lifecycle():
        return lifecycle.deactivate_client(Application.objects.get(pk=pk), source="admin")

    def by_save():
        application = Application.objects.get(pk=pk)
        application.is_active = False
        application.save()

    results = in_parallel(*[by_lifecycle, by_save] * 3)
    assert not [r for r in results if isinstance(r, Exception)]
    [event] = AuditEvent.objects.filter(event=audit.CLIENT_DEACTIVATED)
    assert (event.details["access_tokens_revoked"], event.details["refresh_tokens_revoked"]) == (
        Tokens.LIVE_ACCESS, Tokens.LIVE_REFRESH)
    tokens.assert_all_revoked()


def test_parallel_registration_deletes_revoke_and_audit_once():
    application = ApplicationFactory()
    registration_token = crypto.generate_secret()
    application.registration_access_token_digest = crypto.digest(registration_token)
    application.save()
    tokens = Tokens(application)
    path = reverse("oauth_provider:client_configuration", args=[application.client_id])

    def delete():
        return Client().delete(path, HTTP_AUTHORIZATION=f"Bearer {registration_token}").status_code

    statuses = in_parallel(*[delete] * 5)
    # The first deletes; the others either find the row gone after waiting on its lock (nothing to do,
    # 204) or no longer authenticate (401). Never a 500 from auditing a client deleted meanwhile.
    assert set(statuses) <= {204, 401} and 204 in statuses
    [event] = AuditEvent.objects.filter(event=audit.CLIENT_DELETED)
    assert (event.details["revoked_access_tokens"], event.details["revoked_refresh_tokens"]) == (
        Tokens.LIVE_ACCESS, Tokens.LIVE_REFRESH)
    tokens.assert_all_revoked(rows_deleted=True)
    assert not Application.objects.exists()


def test_a_deactivation_racing_a_deletion_never_counts_a_token_twice():
    tokens = Tokens(ApplicationFactory())
    pk = tokens.application.pk
    results = in_parallel(
        lambda: lifecycle.deactivate_client(Application.objects.get(pk=pk), source="admin"),
        lambda: lifecycle.delete_client(Application.objects.get(pk=pk), source="admin"),
    )
    # The deactivation may find the row gone (Application.DoesNotExist) if the deletion committed first.
    assert all(not isinstance(r, Exception) or isinstance(r, Application.DoesNotExist) for r in results)
    events = AuditEvent.objects.filter(event__in=[audit.CLIENT_DEACTIVATED, audit.CLIENT_DELETED])
    counted = [tuple(v for k, v in sorted(e.details.items()) if k != "source") for e in events]
    assert tuple(map(sum, zip(*counted, strict=True))) == (Tokens.LIVE_ACCESS, Tokens.LIVE_REFRESH)
    assert AuditEvent.objects.filter(event=audit.CLIENT_DELETED).count() == 1
    tokens.assert_all_revoked(rows_deleted=True)
