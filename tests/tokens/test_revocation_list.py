"""The in-process revocation list (tokens.revocation, docs/SECURITY.md S26): what the resource side checks.

- the request path is a membership test: no query (budget tests through a protected view);
- a refresh reads only what was revoked since the last read (plus a small overlap), the whole table
  now and then, and never forgets an unexpired entry;
- older than the bound, the check fails closed: 503 temporarily_unavailable, never "not revoked";
- the daemon thread refreshes on its own connection, off the request path, within the bound.
Other processes: tests/concurrency/test_multiprocess.py.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oauth_provider.errors import InvalidToken
from oauth_provider.models import AccessToken, RevokedAccessToken
from oauth_provider.resource.validator import get_validator
from oauth_provider.tokens import revocation
from oauth_provider.tokens.issue import issue_access_token
from oauth_provider.tokens.revocation import (
    FULL_READ_SECONDS,
    OVERLAP_SECONDS,
    RevocationList,
    RevocationListUnavailable,
    is_jti_revoked,
    revoke_access_tokens,
)
from tests.factories import ApplicationFactory
from tests.helpers.jwt import FakeClock

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.resource.urls")]


def bearer(value: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {value}"}


def issued(application=None):
    return issue_access_token(application=application or ApplicationFactory(), scope=["read"],
                              grant_type="client_credentials")


def revoked_row(jti: str, *, revoked_ago: float = 0, expires_in: float = 600) -> RevokedAccessToken:
    """A revocation as another process records it (this process's list is not told)."""
    now = timezone.now()
    return RevokedAccessToken.objects.create(jti=jti, revoked_at=now - timedelta(seconds=revoked_ago),
                                             expires_at=now + timedelta(seconds=expires_in))


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def own_list(clock):
    """A list without thread, on a fake clock, installed as this process's list."""
    revocations = RevocationList(refresh_seconds=0.5, max_age=2, background=False, clock=clock)
    previous = revocation.install(revocations)
    yield revocations
    revocation.install(previous)


# --- the request path -------------------------------------------------------------------------------


@pytest.mark.security("S26")
def test_a_protected_request_makes_no_query_with_revocation_on(client, django_assert_num_queries):
    assert get_validator().check_revocation  # the default
    client.get("/function", **bearer(issued().token))  # warms the key cache
    value = issued().token
    with django_assert_num_queries(0):
        assert client.get("/function", **bearer(value)).status_code == 200


@pytest.mark.security("S26")
def test_a_revoked_token_is_refused_without_a_query(client, django_assert_num_queries,
                                                    django_capture_on_commit_callbacks):
    client.get("/function", **bearer(issued().token))
    token = issued()
    with django_capture_on_commit_callbacks(execute=True):
        revoke_access_tokens(AccessToken.objects.filter(pk=token.record.pk))
    with django_assert_num_queries(0):
        response = client.get("/function", **bearer(token.token))
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": "The access token has been revoked."}


def test_revoking_records_the_jti_in_the_store_of_record_and_tells_this_process_after_commit(
    django_capture_on_commit_callbacks
):
    token = issued()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        revoke_access_tokens(AccessToken.objects.filter(pk=token.record.pk))
        row = RevokedAccessToken.objects.get(jti=token.record.jti)
        assert row.expires_at == token.record.expires_at
        assert not is_jti_revoked(token.record.jti)  # not before the commit
    for callback in callbacks:
        callback()
    assert is_jti_revoked(token.record.jti)


# --- refreshing ----------------------------------------------------------------------------------


def test_the_first_read_is_full_and_later_reads_only_what_changed(own_list, clock):
    old = [revoked_row(f"old-{n}", revoked_ago=3600) for n in range(3)]
    assert own_list.refresh() == 3
    clock.advance(0.5)
    newer = revoked_row("newer")
    with CaptureQueriesContext(connection) as queries:
        assert own_list.refresh() == 1  # only the row revoked since the last read
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert '"revoked_at" >' in sql
    assert all(own_list.is_revoked(row.jti) for row in [*old, newer])


def test_a_revocation_committed_late_is_read_within_the_overlap_or_at_the_next_full_read(own_list, clock):
    assert own_list.refresh() == 0
    clock.advance(0.5)
    # Stamped before the last read started but committed after it (a slow transaction).
    revoked_row("just-late", revoked_ago=OVERLAP_SECONDS / 2)
    very_late = revoked_row("very-late", revoked_ago=OVERLAP_SECONDS * 4)
    assert own_list.refresh() == 1
    assert own_list.is_revoked("just-late")
    assert not own_list.is_revoked(very_late.jti)
    clock.advance(FULL_READ_SECONDS)
    assert own_list.refresh() == 2  # the whole (small) table
    assert own_list.is_revoked(very_late.jti)


def test_entries_are_kept_until_the_token_expired_even_if_their_row_is_gone(own_list, clock):
    revoked_row("deleted-row")
    revoked_row("long-expired", expires_in=-2 * revocation.EXPIRY_GRACE_SECONDS)
    own_list.refresh()
    assert own_list.is_revoked("deleted-row")
    assert not own_list.is_revoked("long-expired")  # expired long ago: never read
    RevokedAccessToken.objects.all().delete()
    clock.advance(FULL_READ_SECONDS)
    own_list.refresh()
    assert own_list.is_revoked("deleted-row")
    # Once expired (past the grace), a full read forgets it.
    own_list.add([("expired", timezone.now() - timedelta(seconds=2 * revocation.EXPIRY_GRACE_SECONDS))])
    clock.advance(FULL_READ_SECONDS)
    own_list.refresh()
    assert not own_list.is_revoked("expired")
    assert own_list.is_revoked("deleted-row")


# --- failing closed -----------------------------------------------------------------------------


@pytest.mark.security("S26")
def test_older_than_the_bound_the_check_fails_closed_with_503(client, own_list, clock):
    own_list.refresh()
    token = issued().token
    assert client.get("/function", **bearer(token)).status_code == 200
    clock.advance(2.01)
    with pytest.raises(RevocationListUnavailable):
        is_jti_revoked("anything")
    response = client.get("/function", **bearer(token))
    assert response.status_code == 503
    assert response.json() == {"error": "temporarily_unavailable",
                               "error_description": RevocationListUnavailable.default_description}
    assert response["Retry-After"] == "1"
    assert "WWW-Authenticate" not in response
    # DRF views answer the same.
    drf = client.get("/drf-scopes", **bearer(token))
    assert (drf.status_code, drf.json()["error"]) == (503, "temporarily_unavailable")
    # Served again as soon as a read succeeds.
    own_list.refresh()
    assert client.get("/function", **bearer(token)).status_code == 200


@pytest.mark.security("S26")
def test_a_database_failure_keeps_what_is_known_and_fails_closed_after_the_bound(client, own_list, clock, caplog):
    revoked_row("known")
    own_list.refresh()
    clock.advance(1.0)

    def down(execute, sql, params, many, context):
        raise OperationalError("connection to server at 10.1.2.3 failed")

    with connection.execute_wrapper(down):
        assert own_list.refresh_quietly() is False
        assert own_list.refresh_quietly() is False
    assert [r.getMessage() for r in caplog.records].count(
        "The revocation list could not be refreshed (OperationalError); once it is older than "
        "RESOURCE_REVOCATION_MAX_AGE, protected requests get 503.") == 1  # once, not at every attempt
    assert "10.1.2.3" not in caplog.text
    assert own_list.is_revoked("known")  # still within the bound of the last good read
    clock.advance(1.01)
    with pytest.raises(RevocationListUnavailable):
        own_list.is_revoked("other")
    token = issued().token
    with connection.execute_wrapper(down):
        response = client.get("/function", **bearer(token))
    assert response.status_code == 503
    assert "10.1.2.3" not in response.content.decode()


def test_a_list_never_read_refuses_rather_than_guessing(clock):
    with pytest.raises(RevocationListUnavailable):
        RevocationList(background=False, clock=clock).is_revoked("x")


def test_a_forked_child_reads_for_itself_but_forgets_nothing(own_list, clock):
    own_list.add([("known", timezone.now() + timedelta(minutes=5))])
    own_list.refresh()
    own_list.after_fork()
    assert not own_list.is_fresh()
    with pytest.raises(RevocationListUnavailable):
        own_list.is_revoked("known")
    own_list.refresh()
    assert own_list.is_revoked("known")


# --- the thread ---------------------------------------------------------------------------------


@pytest.mark.security("S26")
@pytest.mark.django_db(transaction=True)
def test_the_thread_refreshes_off_the_request_path_within_the_bound(client, django_assert_num_queries):
    revocations = RevocationList(refresh_seconds=0.05, max_age=2.0)
    previous = revocation.install(revocations)
    try:
        token = issued()
        # The first check of the process starts the thread and waits (bounded) for its first read.
        assert get_validator().validate(token.token).jti == token.record.jti
        assert revocations._running()
        # Another process revokes: only the table is written, this process is not told.
        revoked_row(token.record.jti)
        revoked_at = time.monotonic()
        deadline = revoked_at + 5
        while not revocations.is_revoked(token.record.jti):
            assert time.monotonic() < deadline, "the thread never read the revocation"
            time.sleep(0.01)
        assert time.monotonic() - revoked_at <= revocations.max_age
        # The request path made none of those queries: the thread has its own connection.
        with django_assert_num_queries(0):
            with pytest.raises(InvalidToken):
                get_validator().validate(token.token)
            assert client.get("/function", **bearer(token.token)).status_code == 401
    finally:
        revocations.stop()
        revocation.install(previous)
    assert not revocations._running()  # stopped within one interval


# --- settings, clean-up, upgrade ------------------------------------------------------------------


def test_the_interval_and_the_bound_come_from_the_settings():
    from django.test import override_settings

    from tests.helpers.jwt import oauth_settings_with

    revocations = RevocationList(background=False)
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(RESOURCE_REVOCATION_REFRESH_SECONDS=0.25,
                                                              RESOURCE_REVOCATION_MAX_AGE=7)):
        revocations.refresh()
    assert (revocations.refresh_seconds, revocations.max_age) == (0.25, 7.0)


def test_cleanup_deletes_revocations_only_once_the_lists_no_longer_keep_them():
    from oauth_provider.cleanup import clean_up

    revoked_row("recent", expires_in=-60)  # expired, but within the grace the lists keep it
    revoked_row("live")
    revoked_row("gone", expires_in=-2 * revocation.EXPIRY_GRACE_SECONDS)
    removed = {removal.name: removal.count for removal in clean_up()}
    assert removed["revoked access tokens"] == 1
    assert sorted(RevokedAccessToken.objects.values_list("jti", flat=True)) == ["live", "recent"]


def test_the_migration_records_the_tokens_revoked_before_it():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("oauth_provider.migrations.0009_revocations")
    live, expired, unrevoked = issued(), issued(), issued()
    long_ago = timezone.now() - timedelta(hours=1)
    AccessToken.objects.filter(pk__in=[live.record.pk, expired.record.pk]).update(revoked_at=long_ago)
    AccessToken.objects.filter(pk=expired.record.pk).update(expires_at=long_ago)
    migration.record_earlier_revocations(apps, None)
    migration.record_earlier_revocations(apps, None)  # idempotent
    assert list(RevokedAccessToken.objects.values_list("jti", "revoked_at")) == [(live.record.jti, long_ago)]
    assert unrevoked.record.jti not in {row.jti for row in RevokedAccessToken.objects.all()}
