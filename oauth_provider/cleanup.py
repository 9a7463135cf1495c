"""Deleting what has expired, in small batches, so clean-up never holds long locks.

Each batch looks at one window of ``batch_size`` primary keys (walking the key upwards) and deletes
the expired rows in it in a transaction of its own; a cron job can run it while the server serves requests.

What goes, and why it is safe:
- authorization codes and device codes past their expiry (they can no longer be redeemed);
- access tokens past their expiry, revoked or not (the JWT is dead everywhere by then), and the
  revocation records of tokens expired for longer than the resource side keeps them;
- refresh tokens whose whole family is dead (no token of the family is unused, unrevoked and
  unexpired). Used tokens of a live family are kept: presenting one again must still be detected
  as reuse and revoke the family (RFC 9700 §4.14.2);
- audit events older than ``AUDIT_RETENTION_DAYS`` (never, when it is None), and the dashboard's
  hourly roll-ups of the hours they were in (``admin.rollup.forget_before``): the roll-ups follow
  the audit trail's retention, so the dashboard never shows counts of events that are gone;
- pushed authorization requests whose browser can no longer finish with them (expiry plus the
  interaction window), and the jtis of client assertions past their expiry (a replay would be
  refused as expired anyway);
- retired signing keys no live token can need (``key_rotation.delete_expired_retired_keys``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, QuerySet
from django.utils import timezone

from oauth_provider.admin.rollup import ceil_hour, forget_before
from oauth_provider.conf import oauth_settings
from oauth_provider.keys.rotation import delete_expired_retired_keys
from oauth_provider.models import (
    AccessToken,
    ActivityHour,
    AuditEvent,
    AuthorizationCode,
    ClientAssertionJti,
    DeviceCode,
    PushedAuthorizationRequest,
    RefreshToken,
    RevokedAccessToken,
)
from oauth_provider.tokens.revocation import EXPIRY_GRACE_SECONDS

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True)
class Removal:
    """What clean-up removed (or, in a dry run, would remove) from one table."""

    name: str
    count: int
    batches: int


@dataclass(frozen=True)
class Progress:
    """Where clean-up of one table stands after a batch: rows deleted so far, in how many batches and seconds."""

    name: str
    rows: int
    batches: int
    seconds: float

    @property
    def rate(self) -> float:
        """Rows deleted per second so far."""
        return self.rows / self.seconds if self.seconds > 0 else float(self.rows)


def delete_in_batches(
    queryset: QuerySet, *, batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[int, int]:
    """Delete the rows of ``queryset`` at most ``batch_size`` at a time; (rows deleted, batches).

    The table is walked in windows of ``batch_size`` primary keys, so every statement, the look-up
    as well as the delete, touches a bounded number of rows whatever plan the database picks (a
    "first 1,000 matching rows" query can scan a million rows to find them). After each batch that
    deleted rows, ``progress`` (if given) is called with the rows deleted so far, the batches and the
    seconds since the first look-up.
    """
    model = queryset.model
    started = time.monotonic()
    bounds = model.objects.aggregate(low=Min("pk"), high=Max("pk"))
    low, high = bounds["low"], bounds["high"]
    deleted = batches = 0
    while low is not None and low <= high:
        pks = list(queryset.filter(pk__gte=low, pk__lt=low + batch_size).values_list("pk", flat=True))
        if pks:
            with transaction.atomic():
                _, per_model = model.objects.filter(pk__in=pks).delete()
            deleted += per_model.get(model._meta.label, 0)
            batches += 1
            if progress is not None:
                progress(deleted, batches, time.monotonic() - started)
        low += batch_size
    return deleted, batches


def audit_cutoff(now: datetime) -> datetime | None:
    """Audit events created before this go (None: they stay for ever)."""
    retention = oauth_settings.AUDIT_RETENTION_DAYS
    return None if retention is None else now - timedelta(days=retention)


def expired_querysets(now: datetime | None = None) -> list[tuple[str, QuerySet]]:
    """(name, rows to delete) per table, in an order that keeps the SET NULL updates small."""
    now = now or timezone.now()
    live_in_family = RefreshToken.objects.filter(
        family_id=OuterRef("family_id"), used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now,
        family_expires_at__gt=now,
    )
    interaction = timedelta(seconds=oauth_settings.PUSHED_AUTHORIZATION_REQUEST_INTERACTION_SECONDS)
    querysets = [
        ("access tokens", AccessToken.objects.filter(expires_at__lte=now)),
        # Kept past expiry as long as the resource side's in-process lists keep them (tokens.revocation).
        ("revoked access tokens", RevokedAccessToken.objects.filter(
            expires_at__lte=now - timedelta(seconds=EXPIRY_GRACE_SECONDS))),
        ("refresh tokens", RefreshToken.objects.filter(~Exists(live_in_family))),
        ("authorization codes", AuthorizationCode.objects.filter(expires_at__lte=now)),
        ("device codes", DeviceCode.objects.filter(expires_at__lte=now)),
        ("pushed authorization requests", PushedAuthorizationRequest.objects.filter(expires_at__lte=now - interaction)),
        ("client assertion jtis", ClientAssertionJti.objects.filter(expires_at__lte=now)),
    ]
    cutoff = audit_cutoff(now)
    if cutoff is not None:
        querysets.append(("audit events", AuditEvent.objects.filter(created_at__lt=cutoff)))
        # The hour holding the cutoff too: its events left are counted live (see forget_before).
        querysets.append(("activity roll-ups", ActivityHour.objects.filter(hour__lt=ceil_hour(cutoff))))
    return querysets


def clean_up(
    *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False, progress: Callable[[Progress], None] | None = None,
) -> list[Removal]:
    """Remove everything expired; a dry run only counts. ``progress`` hears of every batch (see ``Progress``)."""
    now = timezone.now()
    cutoff = audit_cutoff(now)
    if cutoff is not None and not dry_run:
        forget_before(cutoff)
    removals = []
    for name, queryset in expired_querysets(now):
        if dry_run:
            removals.append(Removal(name, queryset.count(), 0))
        else:
            report = None if progress is None else _reporter(name, progress)
            count, batches = delete_in_batches(queryset, batch_size=batch_size, progress=report)
            removals.append(Removal(name, count, batches))
    kids = delete_expired_retired_keys(dry_run=dry_run, source="cleanup")
    removals.append(Removal("retired signing keys", len(kids), 0 if dry_run or not kids else 1))
    return removals


def _reporter(name: str, progress: Callable[[Progress], None]) -> Callable[[int, int, float], None]:
    def report(rows: int, batches: int, seconds: float) -> None:
        progress(Progress(name, rows, batches, seconds))

    return report
