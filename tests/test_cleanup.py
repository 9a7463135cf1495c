"""oauth_cleanup: what it deletes, what it keeps, and that it works in small batches."""

import re
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oauth_provider import audit, crypto
from oauth_provider.cleanup import clean_up, delete_in_batches
from oauth_provider.models import (
    AccessToken,
    AuditEvent,
    AuthorizationCode,
    DeviceCode,
    RefreshToken,
)

pytestmark = pytest.mark.django_db

PAST = timedelta(hours=-1)
FUTURE = timedelta(hours=1)


def access_tokens(application, count, expires_in, **fields):
    now = timezone.now()
    AccessToken.objects.bulk_create(
        AccessToken(jti=uuid.uuid4().hex, application=application, grant_type="client_credentials", audience="x",
                    created_at=now, expires_at=now + expires_in, **fields)
        for _ in range(count)
    )


def refresh_token(application, user, family_id, *, expires_in=FUTURE, used=False, revoked=False, **fields):
    now = timezone.now()
    return RefreshToken.objects.create(
        token_digest=crypto.digest(uuid.uuid4().hex), application=application, user=user, family_id=family_id,
        expires_at=now + expires_in, family_expires_at=fields.pop("family_expires_at", now + FUTURE * 24),
        used_at=now if used else None, revoked_at=now if revoked else None, **fields,
    )


def code(application, user, expires_in):
    return AuthorizationCode.objects.create(code_digest=crypto.digest(uuid.uuid4().hex), application=application,
                                            user=user, expires_at=timezone.now() + expires_in)


def device_code(application, expires_in):
    return DeviceCode.objects.create(device_code_digest=crypto.digest(uuid.uuid4().hex),
                                     user_code=uuid.uuid4().hex[:8].upper(), application=application,
                                     expires_at=timezone.now() + expires_in)


def removed(removals) -> dict[str, int]:
    return {r.name: r.count for r in removals}


def test_thousands_of_expired_access_tokens_go_in_batches(application):
    access_tokens(application, 2500, PAST)
    access_tokens(application, 30, FUTURE)
    with CaptureQueriesContext(connection) as queries:
        count, batches = delete_in_batches(AccessToken.objects.filter(expires_at__lte=timezone.now()),
                                           batch_size=1000)
    assert (count, batches) == (2500, 3)
    deletes = [q for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3
    assert AccessToken.objects.count() == 30
    assert not AccessToken.objects.filter(expires_at__lte=timezone.now()).exists()


def test_each_batch_is_its_own_transaction(application):
    access_tokens(application, 250, PAST)
    with CaptureQueriesContext(connection) as queries:
        delete_in_batches(AccessToken.objects.all(), batch_size=100)
    # Inside the test's transaction, each batch's atomic block shows as one savepoint.
    savepoints = [q for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 3


def test_revoked_but_unexpired_access_tokens_are_kept(application):
    access_tokens(application, 5, FUTURE, revoked_at=timezone.now())
    clean_up()
    assert AccessToken.objects.count() == 5


def test_expired_codes_and_device_codes_go_live_ones_stay(application, user):
    expired_code, live_code = code(application, user, PAST), code(application, user, FUTURE)
    expired_device, live_device = device_code(application, PAST), device_code(application, FUTURE)
    result = removed(clean_up())
    assert result["authorization codes"] == 1 and result["device codes"] == 1
    assert list(AuthorizationCode.objects.values_list("pk", flat=True)) == [live_code.pk]
    assert list(DeviceCode.objects.values_list("pk", flat=True)) == [live_device.pk]
    assert expired_code.pk != live_code.pk and expired_device.pk != live_device.pk


def test_used_tokens_of_a_live_family_are_kept_for_reuse_detection(web_app, user):
    family = uuid.uuid4()
    used = refresh_token(web_app, user, family, expires_in=PAST, used=True)
    current = refresh_token(web_app, user, family, parent=used)
    clean_up()
    assert set(RefreshToken.objects.values_list("pk", flat=True)) == {used.pk, current.pk}


def test_revoked_family_goes(web_app, user):
    family = uuid.uuid4()
    refresh_token(web_app, user, family, used=True, revoked=True)
    refresh_token(web_app, user, family, revoked=True)
    assert removed(clean_up())["refresh tokens"] == 2
    assert not RefreshToken.objects.exists()


def test_idle_expired_family_goes(web_app, user):
    family = uuid.uuid4()
    refresh_token(web_app, user, family, expires_in=PAST, used=True)
    refresh_token(web_app, user, family, expires_in=PAST)
    clean_up()
    assert not RefreshToken.objects.exists()


def test_family_past_its_absolute_lifetime_goes(web_app, user):
    refresh_token(web_app, user, uuid.uuid4(), family_expires_at=timezone.now() + PAST)
    clean_up()
    assert not RefreshToken.objects.exists()


def test_deleting_a_refresh_token_keeps_its_live_access_tokens(web_app, user):
    dead = refresh_token(web_app, user, uuid.uuid4(), revoked=True)
    access_tokens(web_app, 1, FUTURE, refresh_token=dead)
    clean_up()
    assert AccessToken.objects.get().refresh_token is None


def test_audit_events_past_retention_go(settings, application):
    old = AuditEvent.objects.create(event="x", created_at=timezone.now() - timedelta(days=400))
    recent = AuditEvent.objects.create(event="x", created_at=timezone.now() - timedelta(days=300))
    clean_up()
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(pk=recent.pk).exists()


def test_retention_none_keeps_audit_events(settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "AUDIT_RETENTION_DAYS": None}
    AuditEvent.objects.create(event="x", created_at=timezone.now() - timedelta(days=4000))
    assert "audit events" not in removed(clean_up())
    assert AuditEvent.objects.count() == 1


def test_dry_run_counts_and_deletes_nothing(application):
    access_tokens(application, 7, PAST)
    assert removed(clean_up(dry_run=True))["access tokens"] == 7
    assert AccessToken.objects.count() == 7


def test_command_prints_counts_and_batches(application):
    access_tokens(application, 25, PAST)
    out = StringIO()
    call_command("oauth_cleanup", "--batch-size", "10", stdout=out)
    assert "access tokens: deleted 25 in 3 batch(es)" in out.getvalue()
    assert not AccessToken.objects.exists()


def test_command_dry_run_says_would(application):
    access_tokens(application, 3, PAST)
    out = StringIO()
    call_command("oauth_cleanup", "--dry-run", stdout=out)
    assert "access tokens: would delete 3" in out.getvalue()
    assert AccessToken.objects.count() == 3


def test_command_run_is_audited(application):
    access_tokens(application, 2, PAST)
    call_command("oauth_cleanup", stdout=StringIO())
    assert AuditEvent.objects.get(event=audit.CLEANUP_RUN).details["access_tokens"] == 2


def test_command_refuses_a_silly_batch_size():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("oauth_cleanup", "--batch-size", "0", stdout=StringIO())


# --- progress on long runs (issue 19) ----------------------------------------------------------

PROGRESS_LINE = re.compile(r"  (?P<table>[a-z -]+): (?P<rows>\d+) deleted so far in (?P<batches>\d+) batch\(es\), "
                           r"(?P<rate>[\d,]+) rows/s")


class FakeClock:
    """A monotonic clock that advances ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def monotonic(self) -> float:
        self.now += self.step
        return self.now


def progress_lines(output: str) -> list[dict]:
    return [m.groupdict() for line in output.splitlines() if (m := PROGRESS_LINE.fullmatch(line))]


def test_command_reports_progress_after_every_batch(application):
    access_tokens(application, 25, PAST)
    out = StringIO()
    call_command("oauth_cleanup", "--batch-size", "10", "--progress-every", "0", stdout=out)
    lines = progress_lines(out.getvalue())
    assert [(p["table"], p["rows"], p["batches"]) for p in lines] == [
        ("access tokens", "10", "1"), ("access tokens", "20", "2"), ("access tokens", "25", "3")]
    # The summary is unchanged, and comes after the table's progress.
    output = out.getvalue()
    assert "access tokens: deleted 25 in 3 batch(es)" in output
    assert output.index("access tokens: deleted 25") > output.index("25 deleted so far")


def test_progress_lines_give_the_rate_so_far(application, monkeypatch):
    import oauth_provider.cleanup as cleanup_module

    # Each read of the clean-up's clock is 0.5 s later (one read per batch): 10 rows per 0.5 s.
    monkeypatch.setattr(cleanup_module, "time", FakeClock(0.5))
    access_tokens(application, 20, PAST)
    out = StringIO()
    call_command("oauth_cleanup", "--batch-size", "10", "--progress-every", "0", stdout=out)
    assert [(p["rows"], p["rate"]) for p in progress_lines(out.getvalue())] == [("10", "20"), ("20", "20")]


def test_progress_lines_are_spaced_by_the_interval(application, monkeypatch):
    from oauth_provider.management.commands import oauth_cleanup as command_module

    # The command's clock moves 4 seconds per batch: with --progress-every 10, every third batch is reported.
    monkeypatch.setattr(command_module, "time", FakeClock(4.0))
    access_tokens(application, 60, PAST)
    out = StringIO()
    call_command("oauth_cleanup", "--batch-size", "10", "--progress-every", "10", stdout=out)
    assert [p["rows"] for p in progress_lines(out.getvalue())] == ["30", "60"]
    assert "access tokens: deleted 60 in 6 batch(es)" in out.getvalue()


def test_a_short_run_prints_only_its_summary(application):
    access_tokens(application, 25, PAST)
    out = StringIO()
    call_command("oauth_cleanup", "--batch-size", "10", stdout=out)
    assert progress_lines(out.getvalue()) == [] and "so far" not in out.getvalue()
    assert "access tokens: deleted 25 in 3 batch(es)" in out.getvalue()


def test_verbosity_0_prints_no_progress(application):
    access_tokens(application, 25, PAST)
    out = StringIO()
    call_command("oauth_cleanup", "--batch-size", "10", "--progress-every", "0", verbosity=0, stdout=out)
    assert progress_lines(out.getvalue()) == []


def test_a_dry_run_has_no_progress(application):
    access_tokens(application, 25, PAST)
    out = StringIO()
    call_command("oauth_cleanup", "--dry-run", "--batch-size", "10", "--progress-every", "0", stdout=out)
    assert progress_lines(out.getvalue()) == [] and "access tokens: would delete 25" in out.getvalue()


def test_clean_up_hands_each_batch_to_the_progress_callback(application):
    access_tokens(application, 25, PAST)
    seen = []
    clean_up(batch_size=10, progress=seen.append)
    assert [(p.name, p.rows, p.batches) for p in seen] == [
        ("access tokens", 10, 1), ("access tokens", 20, 2), ("access tokens", 25, 3)]
    assert all(p.seconds >= 0 and p.rate > 0 for p in seen)


def test_command_refuses_a_negative_progress_interval():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("oauth_cleanup", "--progress-every", "-1", stdout=StringIO())


def test_expired_pushed_requests_and_assertion_jtis_go_live_ones_stay(application):
    from oauth_provider.models import ClientAssertionJti, PushedAuthorizationRequest

    now = timezone.now()

    def pushed(expires_at):
        return PushedAuthorizationRequest.objects.create(
            request_uri_digest=crypto.digest(uuid.uuid4().hex), application=application, expires_at=expires_at
        )

    # Past its expiry but a browser may still be finishing (interaction window): kept.
    finishing = pushed(now - timedelta(seconds=30))
    pushed(now - timedelta(seconds=601))
    ClientAssertionJti.objects.create(application=application, jti_digest="a" * 64, expires_at=now + PAST)
    live_jti = ClientAssertionJti.objects.create(application=application, jti_digest="b" * 64, expires_at=now + FUTURE)
    result = {r.name: r.count for r in clean_up()}
    assert result["pushed authorization requests"] == 1 and result["client assertion jtis"] == 1
    assert list(PushedAuthorizationRequest.objects.values_list("pk", flat=True)) == [finishing.pk]
    assert list(ClientAssertionJti.objects.values_list("pk", flat=True)) == [live_jti.pk]
