"""Fill the audit trail with synthetic events, to measure the admin dashboard at scale.

For benchmarks on a scratch database only: the rows are realistic in shape (token issuance by
grant, failed authentications, consents, refresh rotations and reuse) but invented.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.models import Application, AuditEvent, GrantType

# (event, grant_type detail, relative weight)
MIX = [
    (audit.TOKEN_ISSUED, GrantType.CLIENT_CREDENTIALS, 40),
    (audit.TOKEN_ISSUED, GrantType.DEVICE_CODE, 5),
    (audit.CODE_REDEEMED, None, 12),
    (audit.REFRESH_TOKEN_ROTATED, None, 20),
    (audit.CODE_ISSUED, None, 12),
    (audit.CONSENT_GRANTED, None, 4),
    (audit.CONSENT_DENIED, None, 1),
    (audit.CLIENT_AUTH_FAILED, None, 4),
    (audit.REFRESH_TOKEN_REUSED, None, 0.1),
    (audit.DEVICE_CODE_APPROVED, None, 1),
    (audit.DEVICE_CODE_DENIED, None, 0.2),
]


class Command(BaseCommand):
    help = "Insert synthetic audit events (bulk_create in batches) to measure the dashboard at scale."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=90, help="Spread the events over this many past days.")
        parser.add_argument("--clients", type=int, default=50, help="Synthetic clients to create and use.")
        parser.add_argument("--batch-size", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=7, help="Random seed, for repeatable tables.")

    def handle(self, *args, rows: int, days: int, clients: int, batch_size: int, seed: int, **options) -> None:
        if rows < 1 or days < 1 or clients < 1 or batch_size < 1:
            raise CommandError("--rows, --days, --clients and --batch-size must be positive.")
        rng = random.Random(seed)  # noqa: S311 - synthetic benchmark data, not secrets
        applications = self._clients(clients)
        events, grants, weights = zip(*((e, g, w) for e, g, w in MIX), strict=True)
        now = timezone.now()
        span = days * 86400
        started = time.monotonic()
        written = 0
        while written < rows:
            size = min(batch_size, rows - written)
            batch = []
            for index in rng.choices(range(len(events)), weights=weights, k=size):
                application = rng.choice(applications)
                details = {"grant_type": grants[index]} if grants[index] else {}
                batch.append(AuditEvent(
                    event=events[index], application=application, client_id=application.client_id,
                    ip_address=f"10.0.{rng.randrange(256)}.{rng.randrange(1, 255)}", user_agent="oauth_seed_audit",
                    details=details, created_at=now - timedelta(seconds=rng.random() * span),
                ))
            AuditEvent.objects.bulk_create(batch)
            written += size
            self.stdout.write(f"{written}/{rows} rows", ending="\r")
        self.stdout.write(f"\nInserted {written} audit events in {time.monotonic() - started:.1f} s.")

    def _clients(self, count: int) -> list[Application]:
        existing = list(Application.objects.filter(name__startswith="Seeded client ").order_by("pk")[:count])
        for number in range(len(existing), count):
            existing.append(Application.objects.create(
                name=f"Seeded client {number:03d}", client_type="public",
                grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
                redirect_uris="https://seeded.example.test/cb", allowed_scopes="read",
            ))
        return existing
