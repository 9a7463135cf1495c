"""Revoking access and refresh tokens, and telling resource servers through Django's cache.

Access tokens are JWTs that verify without the database; a resource server that enables the
revocation check looks up ``revoked_jti_key(jti)`` in the cache named by ``REVOCATION_CACHE``.
Every path that revokes tokens goes through this module so that the cache is always filled.
"""

from __future__ import annotations

from django.core.cache import caches
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from oauth_provider.conf import oauth_settings
from oauth_provider.models import AccessToken, Application, RefreshToken

REVOKED_JTI_PREFIX = "oauth_provider:revoked-jti:"


def revoked_jti_key(jti: str) -> str:
    return REVOKED_JTI_PREFIX + jti


def revocation_cache():
    return caches[oauth_settings.REVOCATION_CACHE]


def revoke_access_tokens(tokens: QuerySet[AccessToken]) -> int:
    """Mark the live tokens of ``tokens`` revoked and publish their jtis once the transaction commits."""
    now = timezone.now()
    live = list(tokens.filter(revoked_at__isnull=True, expires_at__gt=now).values_list("pk", "jti", "expires_at"))
    if not live:
        return 0
    AccessToken.objects.filter(pk__in=[pk for pk, _, _ in live]).update(revoked_at=now)

    def publish() -> None:
        cache = revocation_cache()
        for _, jti, expires_at in live:
            # Keep the mark a little past expiry so clock skew cannot revive the token.
            remaining = int((expires_at - now).total_seconds()) + 60
            cache.set(revoked_jti_key(jti), True, timeout=max(remaining, 1))

    transaction.on_commit(publish)
    return len(live)


def revoke_refresh_family(family_id) -> int:
    """``revoke_refresh_families`` for one family (refresh token reuse, the revocation endpoint)."""
    return revoke_refresh_families([family_id])


def revoke_refresh_families(family_ids) -> int:
    """Revoke every refresh token of these families and the access tokens issued from them.

    The one way families are revoked (reuse, code replay, consent revocation, the admin's action).
    Returns the number of refresh tokens revoked.
    """
    family_ids = list(family_ids)
    if not family_ids:
        return 0
    now = timezone.now()
    count = RefreshToken.objects.filter(family_id__in=family_ids, revoked_at__isnull=True).update(revoked_at=now)
    revoke_access_tokens(AccessToken.objects.filter(refresh_token__family_id__in=family_ids))
    return count


def revoke_client_tokens(application: Application) -> tuple[int, int]:
    """Revoke every live access and refresh token of a client (``clients.lifecycle``, the admin's "revoke all").

    docs/SECURITY.md S4: resource servers that check revocation then refuse its access tokens at once.
    Returns (access tokens revoked, refresh tokens revoked).
    """
    now = timezone.now()
    refresh = RefreshToken.objects.filter(application=application, revoked_at__isnull=True).update(revoked_at=now)
    access = revoke_access_tokens(AccessToken.objects.filter(application=application))
    return access, refresh


def is_jti_revoked(jti: str) -> bool:
    return bool(revocation_cache().get(revoked_jti_key(jti)))
