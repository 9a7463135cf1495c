"""Copy clients from django-oauth-toolkit's application table (docs/MIGRATING_FROM_DOT.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections, router
from django.utils.connection import ConnectionDoesNotExist

from oauth_provider.clients.dot_import import (
    EXISTS,
    IMPORTED,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SKIPPED,
    WOULD_IMPORT,
    ImportOptions,
    Outcome,
    import_rows,
)
from oauth_provider.conf import oauth_settings
from oauth_provider.models import Application

DOT_TABLE = "oauth2_provider_application"


def printable(value: Any) -> str:
    """A value from DOT's table made safe for a terminal: control characters shown as escapes."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in str(value))


def read_rows(using: str, table: str) -> list[dict[str, Any]]:
    """Every row of DOT's application table, as column -> value, by raw SQL (DOT need not be installed)."""
    try:
        connection = connections[using]
    except ConnectionDoesNotExist as exc:
        raise CommandError(f"unknown database alias {using!r} (see DATABASES)") from exc
    try:
        with connection.cursor() as cursor:
            # Only a table that exists is ever named in SQL, so the name cannot inject anything.
            if table not in connection.introspection.table_names(cursor):
                raise CommandError(f"no table {table!r} in database {using!r}; name DOT's table with --table")
            columns = {column.name for column in connection.introspection.get_table_description(cursor, table)}
            missing = [column for column in REQUIRED_COLUMNS if column not in columns]
            if missing:
                raise CommandError(f"{table!r} is not a django-oauth-toolkit application table: it has no "
                                   f"{', '.join(missing)}")
            selected = [column for column in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if column in columns]
            quote = connection.ops.quote_name
            cursor.execute(
                f"SELECT {', '.join(quote(c) for c in selected)} FROM {quote(table)} "  # noqa: S608 (names checked)
                f"ORDER BY {quote('client_id')}"
            )
            return [dict(zip(selected, values, strict=True)) for values in cursor.fetchall()]
    except DatabaseError as exc:
        raise CommandError(f"cannot read {table!r} in database {using!r}: {exc}") from exc


class Command(BaseCommand):
    help = (
        "Copy the clients (applications) of django-oauth-toolkit into this server, keeping their client ids, "
        "names, redirect URIs, client types, grants and skip_authorization. DOT's hashed secrets cannot be "
        "recovered: confidential clients get a new secret, printed once (or, with --rotate-later, are created "
        "inactive until an admin rotates their secret). Re-running skips the client ids already here."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default="default",
                            help="Database alias that holds DOT's table (default: default).")
        parser.add_argument("--table", default=DOT_TABLE, help=f"DOT's application table (default: {DOT_TABLE}).")
        parser.add_argument("--scope", default=None,
                            help="Space-separated scopes the imported clients may ask for; default: every scope "
                                 "in SCOPES (DOT lets every application ask for any scope).")
        parser.add_argument("--rotate-later", action="store_true",
                            help="Create confidential clients whose secret cannot be kept inactive and without a "
                                 "secret, instead of printing a new one; an admin rotates it (admin: tick Active "
                                 "and save, or Rotate secret then Reactivate).")
        parser.add_argument("--no-pkce", dest="require_pkce", action="store_false",
                            help="Do not require PKCE from confidential clients (public clients always need it).")
        parser.add_argument("--no-owners", dest="keep_owner", action="store_false",
                            help="Do not keep DOT's owner (user) of each application.")
        parser.add_argument("--dry-run", action="store_true", help="Check every row and report; write nothing.")
        parser.add_argument("--json", action="store_true",
                            help="Print one JSON document (new secrets included), for scripts.")

    def handle(self, *args, **options) -> None:
        using, table = options["database"], options["table"]
        rows = read_rows(using, table)
        scope = " ".join(oauth_settings.SCOPES) if options["scope"] is None else options["scope"]
        import_options = ImportOptions(
            allowed_scopes=scope,
            rotate_later=options["rotate_later"],
            require_pkce=options["require_pkce"],
            keep_owner=options["keep_owner"],
            dry_run=options["dry_run"],
        )
        same_database = using == router.db_for_write(Application)
        outcomes = import_rows(rows, import_options, same_database=same_database)
        counts = {status: sum(o.status == status for o in outcomes) for status in (IMPORTED, WOULD_IMPORT, EXISTS,
                                                                                    SKIPPED)}
        if options["json"]:
            self.stdout.write(json.dumps({"table": table, "database": using, "dry_run": options["dry_run"],
                                          "counts": counts, "clients": [o.as_dict() for o in outcomes]}))
            return
        verb = "Checking" if options["dry_run"] else "Importing"
        self.stdout.write(f"{verb} {len(rows)} row(s) of {printable(table)} (database {printable(using)!r})")
        for outcome in outcomes:
            self._print(outcome)
        self._summary(outcomes, counts, dry_run=options["dry_run"])

    def _print(self, outcome: Outcome) -> None:
        style = {IMPORTED: self.style.SUCCESS, WOULD_IMPORT: self.style.SUCCESS, EXISTS: self.style.NOTICE,
                 SKIPPED: self.style.ERROR}[outcome.status]
        grants = f" [{', '.join(outcome.grant_types)}]" if outcome.grant_types else ""
        self.stdout.write(style(f"{outcome.status}: {printable(outcome.client_id)} "
                                f'"{printable(outcome.name)}"{grants}'))
        for problem in outcome.problems:
            self.stdout.write(f"  problem: {printable(problem)}")
        for note in outcome.notes:
            self.stdout.write(f"  note: {printable(note)}")
        if outcome.client_secret is not None:
            self.stdout.write(f"  client_secret: {outcome.client_secret}")
            self.stdout.write(self.style.WARNING("  The secret is shown only now: give it to the client's owner."))

    def _summary(self, outcomes: list[Outcome], counts: dict[str, int], *, dry_run: bool) -> None:
        inactive = sum(o.status in (IMPORTED, WOULD_IMPORT) and not o.active for o in outcomes)
        done = f"{counts[WOULD_IMPORT]} would be imported" if dry_run else f"{counts[IMPORTED]} imported"
        if inactive:
            done += f" ({inactive} inactive until an admin rotates the secret)"
        self.stdout.write(f"{done}, {counts[EXISTS]} already here, {counts[SKIPPED]} skipped.")
        if counts[SKIPPED]:
            self.stdout.write(self.style.WARNING(
                "Skipped rows were not imported at all: fix them in DOT's table (or create them with "
                "oauth_create_client --client-id) and run the command again."
            ))
