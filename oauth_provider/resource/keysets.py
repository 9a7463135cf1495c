"""Verification keys for the resource side: this project's SigningKey table, or a remote JWK Set.

Both give ``get(kid) -> PyJWK | None`` (a ``KeySet``). ``LocalKeySet`` reads the one key cache of
``oauth_provider.keys``; ``RemoteKeySet`` (``keys/remote.py``) keeps its own ``kid -> PyJWK`` dict of the
remote JWK Set.
Both reload when their keys are older than their lifetime, or when a token names a ``kid`` they do
not know. Reloads caused by unknown ``kid``s happen at most once per ``min_refetch_seconds``, so a
burst of forged ``kid``s costs at most one database query or one HTTP request per interval
(RFC 8725 §3.10, docs/SECURITY.md S17).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from jwt import PyJWK

from oauth_provider.http import is_local_fetch_host
from oauth_provider.keys import remote, verification_key
from oauth_provider.keys.remote import MAX_JWKS_BYTES, CachedKeySet, KeySetUnavailable, max_age

logger = logging.getLogger("oauth_provider")

# The fetching machinery lives in keys/remote.py (shared with clients' jwks_uri); these names stay here too.
__all__ = ["MAX_JWKS_BYTES", "CachedKeySet", "KeySet", "KeySetUnavailable", "LocalKeySet", "RemoteKeySet",
           "check_jwks_url", "key_set_from_settings", "max_age"]


class KeySet(Protocol):
    """Where a validator finds the key a token names."""

    def get(self, kid: str) -> PyJWK | None: ...


class LocalKeySet:
    """The public keys of this project's SigningKey table (every published state), from ``keys``' one cache.

    Holds no keys itself: it only says how old a snapshot the resource side accepts.
    """

    def __init__(self, *, cache_seconds: float, min_refetch_seconds: float) -> None:
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds

    def get(self, kid: str) -> PyJWK | None:
        try:
            return verification_key(kid, max_age=self.cache_seconds, min_refetch_seconds=self.min_refetch_seconds)
        except DatabaseError as exc:
            # A database blip is "keys unavailable" (503, RFC 6750 JSON), not a server error; the cache keeps
            # no trace of it, so the first request after recovery verifies again (keys/store.py).
            logger.warning("verification keys could not be read from the database: %r", str(exc))
            raise KeySetUnavailable() from exc


def check_jwks_url(url: str) -> str:
    """Refuse a JWKS URL that is not https (plain http is allowed for loopback only)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_local_fetch_host(parts.hostname):
        return url
    raise ImproperlyConfigured(
        f"OAUTH_PROVIDER['RESOURCE_JWKS_URL'] must be an https URL (http only on loopback), not {url!r}"
    )


class RemoteKeySet(remote.RemoteKeySet):
    """The JWK Set at RESOURCE_JWKS_URL (https; plain http only on loopback)."""

    check_url = staticmethod(check_jwks_url)


def key_set_from_settings(settings: Any) -> KeySet:
    """The key source the settings name: RESOURCE_JWKS_URL if set, else the SigningKey table."""
    options = {
        "cache_seconds": settings.RESOURCE_JWKS_CACHE_SECONDS,
        "min_refetch_seconds": settings.RESOURCE_JWKS_MIN_REFETCH_SECONDS,
    }
    if settings.RESOURCE_JWKS_URL:
        return RemoteKeySet(settings.RESOURCE_JWKS_URL, timeout=settings.RESOURCE_JWKS_TIMEOUT,
                            max_cache_seconds=settings.RESOURCE_JWKS_MAX_CACHE_SECONDS, **options)
    return LocalKeySet(**options)

