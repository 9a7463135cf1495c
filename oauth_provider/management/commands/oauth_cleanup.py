"""Delete expired codes, tokens, old audit events and unneeded retired keys, in small batches."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from oauth_provider import audit
from oauth_provider.cleanup import DEFAULT_BATCH_SIZE, clean_up


class Command(BaseCommand):
    help = (
        "Delete expired authorization codes, device codes, access tokens, dead refresh-token families, "
        "audit events past AUDIT_RETENTION_DAYS and retired signing keys no token needs, in batches "
        "(one short transaction each). Safe to run from cron while the server runs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                            help=f"Rows per transaction (default {DEFAULT_BATCH_SIZE}).")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

    def handle(self, *args, **options) -> None:
        batch_size = options["batch_size"]
        if not 1 <= batch_size <= 100_000:
            raise CommandError("--batch-size must be between 1 and 100000")
        removals = clean_up(batch_size=batch_size, dry_run=options["dry_run"])
        verb = "would delete" if options["dry_run"] else "deleted"
        for removal in removals:
            batches = "" if options["dry_run"] else f" in {removal.batches} batch(es)"
            self.stdout.write(f"{removal.name}: {verb} {removal.count}{batches}")
        if not options["dry_run"]:
            audit.record(audit.CLEANUP_RUN, **{r.name.replace(" ", "_"): r.count for r in removals})
