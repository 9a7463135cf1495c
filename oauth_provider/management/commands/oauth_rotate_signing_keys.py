"""Rotate the signing key: stage the next key, promote it, retire the old one (see keys/rotation.py)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from oauth_provider.conf import SUPPORTED_SIGNING_ALGORITHMS, oauth_settings
from oauth_provider.keys.rotation import (
    delete_expired_retired_keys,
    promote_next_key,
    rotate_signing_key,
    stage_next_key,
)
from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import KeyState, SigningKey


class Command(BaseCommand):
    help = (
        "Rotate the signing key of an algorithm. Without options: stage a next key (or use the staged one), "
        "promote it and retire the active one. Retired keys stay in the JWKS until their tokens have "
        "expired; expired ones are deleted here and by oauth_cleanup."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--algorithm", choices=SUPPORTED_SIGNING_ALGORITHMS, default=None,
                            help="Defaults to OAUTH_PROVIDER['SIGNING_ALGORITHM'].")
        step = parser.add_mutually_exclusive_group()
        step.add_argument("--stage", action="store_true",
                          help="Only create the next key (published, not signing); idempotent.")
        step.add_argument("--promote", action="store_true",
                          help="Only promote the staged next key and retire the active one.")
        parser.add_argument("--if-older-than", type=int, metavar="DAYS", default=None,
                            help="Rotate only when the active key has signed for more than DAYS days (for cron).")

    def handle(self, *args, **options) -> None:
        algorithm = options["algorithm"] or oauth_settings.SIGNING_ALGORITHM
        if algorithm not in SUPPORTED_SIGNING_ALGORITHMS:
            raise CommandError(f"unsupported algorithm {algorithm!r}")
        if options["if_older_than"] is not None and not self._active_key_is_older_than(
            algorithm, options["if_older_than"]
        ):
            self.stdout.write(f"The active {algorithm} key is younger than {options['if_older_than']} days; "
                              "nothing to do.")
            return
        if options["stage"]:
            key, created = stage_next_key(algorithm)
            verb = "Staged" if created else "Already staged:"
            self.stdout.write(self.style.SUCCESS(f"{verb} {algorithm} key {key.kid} (next); it is in the JWKS now. "
                                                 f"Promote it after JWKS_MAX_AGE ({oauth_settings.JWKS_MAX_AGE} s)."))
            return
        if options["promote"]:
            promotion = promote_next_key(algorithm)
            if promotion is None:
                self.stdout.write(f"No staged {algorithm} key to promote; run with --stage first.")
                return
        else:
            promotion = rotate_signing_key(algorithm)
        self.stdout.write(self.style.SUCCESS(
            f"Promoted {algorithm} key {promotion.active.kid} (active); retired {promotion.retired.kid}. "
            f"Other processes switch within {oauth_settings.SIGNING_KEY_CACHE_SECONDS} s."
        ))
        for kid in delete_expired_retired_keys():
            self.stdout.write(f"Deleted retired key {kid}: no token it signed can still be valid.")

    @staticmethod
    def _active_key_is_older_than(algorithm: str, days: int) -> bool:
        get_signing_key(algorithm)
        active = SigningKey.objects.get(state=KeyState.ACTIVE, algorithm=algorithm)
        since = active.activated_at or active.created_at
        return since <= timezone.now() - timedelta(days=days)
