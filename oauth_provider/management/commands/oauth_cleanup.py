"""Delete expired codes, tokens, old audit events and unneeded retired keys, in small batches."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from oauth_provider import audit
from oauth_provider.cleanup import DEFAULT_BATCH_SIZE, Progress, clean_up

# Seconds between two progress lines by default: a short run prints only its summary.
DEFAULT_PROGRESS_EVERY = 10.0


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
        parser.add_argument(
            "--progress-every", type=float, default=DEFAULT_PROGRESS_EVERY, metavar="SECONDS",
            help="On long runs, print a progress line (table, rows so far, rate) after a batch when this many "
                 f"seconds have passed since the last one (default {DEFAULT_PROGRESS_EVERY:g}; 0: after every "
                 "batch). Verbosity 0 prints none.",
        )

    def handle(self, *args, **options) -> None:
        batch_size = options["batch_size"]
        if not 1 <= batch_size <= 100_000:
            raise CommandError("--batch-size must be between 1 and 100000")
        if options["progress_every"] < 0:
            raise CommandError("--progress-every must be 0 or more seconds")
        progress = self._progress_printer(options["progress_every"]) if options["verbosity"] > 0 else None
        removals = clean_up(batch_size=batch_size, dry_run=options["dry_run"], progress=progress)
        verb = "would delete" if options["dry_run"] else "deleted"
        for removal in removals:
            batches = "" if options["dry_run"] else f" in {removal.batches} batch(es)"
            self.stdout.write(f"{removal.name}: {verb} {removal.count}{batches}")
        if not options["dry_run"]:
            audit.record(audit.CLEANUP_RUN, **{r.name.replace(" ", "_"): r.count for r in removals})

    def _progress_printer(self, every: float):
        last = time.monotonic()

        def report(progress: Progress) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < every:
                return
            last = now
            self.stdout.write(
                f"  {progress.name}: {progress.rows} deleted so far in {progress.batches} batch(es), "
                f"{progress.rate:,.0f} rows/s"
            )

        return report
