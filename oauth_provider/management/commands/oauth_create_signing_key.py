"""Create a signing key; with --activate it signs new tokens at once (the old one is retired)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.conf import SUPPORTED_SIGNING_ALGORITHMS, oauth_settings
from oauth_provider.keys.store import create_signing_key
from oauth_provider.models import KeyState, SigningKey


class Command(BaseCommand):
    help = "Create a signing key pair (private half encrypted at rest) and publish it in the JWKS."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--algorithm", choices=SUPPORTED_SIGNING_ALGORITHMS, default=None,
                            help="Defaults to OAUTH_PROVIDER['SIGNING_ALGORITHM'].")
        parser.add_argument("--activate", action="store_true",
                            help="Make it the active key for its algorithm now, retiring the current one.")

    def handle(self, *args, **options) -> None:
        algorithm = options["algorithm"] or oauth_settings.SIGNING_ALGORITHM
        if algorithm not in SUPPORTED_SIGNING_ALGORITHMS:
            raise CommandError(f"unsupported algorithm {algorithm!r}")
        with transaction.atomic():
            if options["activate"]:
                SigningKey.objects.select_for_update().filter(state=KeyState.ACTIVE, algorithm=algorithm).update(
                    state=KeyState.RETIRED, retired_at=timezone.now()
                )
            state = KeyState.ACTIVE if options["activate"] else KeyState.NEXT
            key = create_signing_key(algorithm, state=state)
            event = audit.SIGNING_KEY_ROTATED if options["activate"] else audit.SIGNING_KEY_CREATED
            audit.record(event, kid=key.kid, algorithm=algorithm, state=state, source="command")
        self.stdout.write(self.style.SUCCESS(f"Created {algorithm} key {key.kid} ({state})."))
