"""Failure counters in Django's cache for brute-force limits (SECURITY.md item 23).

A counter starts with the first failure and lives for ``window`` seconds (a fixed window); while it
is at the limit, the caller refuses the attempt with 429 and ``Retry-After: window``. The cache is
``RATE_LIMIT_CACHE``, shared by every process in production (e.g. Redis).
"""

from __future__ import annotations

from django.core.cache import caches

from . import crypto
from .conf import oauth_settings

KEY_PREFIX = "oauth_provider:failures:"


def failure_key(purpose: str, identity: str) -> str:
    """The cache key of one counter; a digest, because identities may hold characters a backend refuses."""
    return f"{KEY_PREFIX}{purpose}:{crypto.digest(identity)}"


def failure_count(key: str) -> int:
    return caches[oauth_settings.RATE_LIMIT_CACHE].get(key) or 0


def record_failure(key: str, window: int) -> None:
    """Add one failure; the first one starts the window."""
    cache = caches[oauth_settings.RATE_LIMIT_CACHE]
    if cache.add(key, 1, timeout=window):
        return
    try:
        cache.incr(key)
    except ValueError:
        # The counter expired between add() and incr(): this failure starts a new window.
        cache.set(key, 1, timeout=window)
