"""Roll the audit trail up into hourly counts (``ActivityHour``) ahead of the admin dashboard."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from oauth_provider.admin.rollup import roll_up_all


class Command(BaseCommand):
    help = (
        "Roll up the audit trail into hourly counts for the activity dashboard, one day per transaction, "
        "newest first, up to the last complete hour. The dashboard rolls up missing hours by itself; run "
        "this from cron (or once after an upgrade) so that no page view has to. Safe while the server runs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=None,
                            help="Roll up (again) only the last DAYS days; default: the whole audit trail.")

    def handle(self, *args, days: int | None, **options) -> None:
        if days is not None and days < 1:
            raise CommandError("--days must be positive.")
        hours = roll_up_all(days=days)
        self.stdout.write(f"Rolled up {hours} hour(s) of audit events.")
