"""Signing-key rotation: stage a next key, promote it, retire the old one, delete it once harmless.

The life of a key is next → active → retired → deleted:
- ``stage_next_key`` creates a ``next`` key. It is published in the JWKS at once but signs nothing,
  so verifiers that cache the JWKS learn it before the first token it signs (wait ``JWKS_MAX_AGE``
  before promoting when verifiers do not refetch on an unknown ``kid``).
- ``promote_next_key`` makes it ``active`` and the previous active key ``retired`` in one
  transaction (the partial unique constraint allows one active key per algorithm). Other processes
  switch within ``SIGNING_KEY_CACHE_SECONDS``; until then they may still sign with the old key.
- A retired key stays in the JWKS until every token it can have signed has expired: retired for
  longer than ``SIGNING_KEY_CACHE_SECONDS`` + the longest access-token lifetime (the setting or any
  client's override) + ``RETIRED_KEY_MARGIN``. ``delete_expired_retired_keys`` then deletes it.
Every step is idempotent and safe while the server serves requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.conf import oauth_settings
from oauth_provider.keys.store import SigningKeyError, clear_cache, create_signing_key, get_signing_key
from oauth_provider.models import Application, KeyState, SigningKey


@dataclass(frozen=True)
class Promotion:
    active: SigningKey
    retired: SigningKey | None


def _lock_active_key(algorithm: str) -> SigningKey:
    """The active key of ``algorithm``, locked so that concurrent rotations run one after another.

    A rotation that waited for the lock finds the row it waited for no longer active (PostgreSQL
    re-checks the condition after the wait); it then reads the new active key and locks that.
    """
    get_signing_key(algorithm)  # creates the first key on first need
    for _ in range(10):
        key = SigningKey.objects.select_for_update().filter(state=KeyState.ACTIVE, algorithm=algorithm).first()
        if key is not None:
            return key
    raise SigningKeyError(f"the active {algorithm} key kept changing during the rotation; run it again")


def _staged_key(algorithm: str) -> SigningKey | None:
    return SigningKey.objects.filter(state=KeyState.NEXT, algorithm=algorithm).order_by("created_at").first()


def _stage_locked(algorithm: str, source: str) -> tuple[SigningKey, bool]:
    staged = _staged_key(algorithm)
    if staged is not None:
        return staged, False
    key = create_signing_key(algorithm, state=KeyState.NEXT)
    audit.record(audit.SIGNING_KEY_CREATED, kid=key.kid, algorithm=algorithm, state=KeyState.NEXT, source=source)
    return key, True


def _promote_locked(current: SigningKey, staged: SigningKey, source: str) -> Promotion:
    now = timezone.now()
    # Retire first: the constraint never sees two active keys.
    SigningKey.objects.filter(pk=current.pk).update(state=KeyState.RETIRED, retired_at=now)
    SigningKey.objects.filter(pk=staged.pk).update(state=KeyState.ACTIVE, activated_at=now)
    audit.record(audit.SIGNING_KEY_ROTATED, kid=staged.kid, retired_kid=current.kid, algorithm=staged.algorithm,
                 source=source)
    # update() sends no post_save: drop this process's cached key explicitly.
    transaction.on_commit(clear_cache)
    current.refresh_from_db()
    staged.refresh_from_db()
    return Promotion(active=staged, retired=current)


def stage_next_key(algorithm: str | None = None, *, source: str = "command") -> tuple[SigningKey, bool]:
    """The ``next`` key of ``algorithm``, created unless one is already staged; (key, created)."""
    algorithm = algorithm or oauth_settings.SIGNING_ALGORITHM
    with transaction.atomic():
        _lock_active_key(algorithm)
        return _stage_locked(algorithm, source)


def promote_next_key(algorithm: str | None = None, *, source: str = "command") -> Promotion | None:
    """Make the oldest ``next`` key active and retire the active one; None when nothing is staged."""
    algorithm = algorithm or oauth_settings.SIGNING_ALGORITHM
    with transaction.atomic():
        current = _lock_active_key(algorithm)
        staged = _staged_key(algorithm)
        if staged is None:
            return None
        return _promote_locked(current, staged, source)


def rotate_signing_key(algorithm: str | None = None, *, source: str = "command") -> Promotion:
    """Stage a key (or take the staged one) and promote it, in one transaction under the lock."""
    algorithm = algorithm or oauth_settings.SIGNING_ALGORITHM
    with transaction.atomic():
        current = _lock_active_key(algorithm)
        staged, _ = _stage_locked(algorithm, source)
        return _promote_locked(current, staged, source)


def longest_access_token_lifetime() -> int:
    override = Application.objects.aggregate(longest=Max("access_token_lifetime"))["longest"] or 0
    return max(oauth_settings.ACCESS_TOKEN_LIFETIME, override)


def retired_key_horizon() -> timedelta:
    """How long a retired key must stay published before no token it signed can still be valid."""
    return timedelta(
        seconds=oauth_settings.SIGNING_KEY_CACHE_SECONDS
        + longest_access_token_lifetime()
        + oauth_settings.RETIRED_KEY_MARGIN
    )


def expired_retired_keys():
    return SigningKey.objects.filter(state=KeyState.RETIRED, retired_at__lt=timezone.now() - retired_key_horizon())


def delete_expired_retired_keys(*, dry_run: bool = False, source: str = "command") -> list[str]:
    """Delete the retired keys no live token can need any more; returns their kids."""
    kids = list(expired_retired_keys().values_list("kid", flat=True))
    if dry_run or not kids:
        return kids
    with transaction.atomic():
        SigningKey.objects.filter(kid__in=kids, state=KeyState.RETIRED).delete()
        for kid in kids:
            audit.record(audit.SIGNING_KEY_DELETED, kid=kid, source=source)
    return kids
