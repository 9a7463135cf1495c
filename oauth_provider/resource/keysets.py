"""Verification keys for the resource side: this project's SigningKey table, or a remote JWK Set.

Both sources keep a ``kid -> PyJWK`` dict in process and reload it when it is older than its
lifetime, or when a token names a ``kid`` they do not know. Reloads caused by unknown ``kid``s
happen at most once per ``min_refetch_seconds``, so a burst of forged ``kid``s costs at most one
database query or one HTTP request per interval (RFC 8725 §3.10, SECURITY.md item 17).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from oauth_provider.errors import TemporarilyUnavailable

logger = logging.getLogger("oauth_provider")

Clock = Callable[[], float]

# A JWK Set larger than this is not a JWK Set.
MAX_JWKS_BYTES = 512 * 1024

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)


class KeySetUnavailable(TemporarilyUnavailable):
    """No verification keys could be loaded (the remote JWKS is unreachable or malformed)."""

    default_description = "The token signing keys are temporarily unavailable."


def parse_jwks(document: Any) -> dict[str, PyJWK]:
    """``kid -> PyJWK`` for the usable signing keys of a JWK Set (RFC 7517 §5).

    Keys without a ``kid``, meant for encryption (``use`` other than ``sig``), or of a type PyJWT
    cannot load are skipped: a token can only ever name a key by ``kid``.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set")
    keys: dict[str, PyJWK] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        try:
            keys[jwk["kid"]] = PyJWK(jwk)
        except PyJWTError:
            logger.warning("skipping an unusable key in the JWK Set: kid=%s", jwk["kid"][:64])
    return keys


class CachedKeySet(ABC):
    """A ``kid -> PyJWK`` dict reloaded by ``_load`` after its lifetime or on an unknown ``kid``.

    Thread-safe: readers take no lock on the hot path; one lock serialises reloads so that
    concurrent requests with the same new ``kid`` cause one reload.
    """

    def __init__(
        self, *, cache_seconds: float, min_refetch_seconds: float, clock: Clock | None = None
    ) -> None:
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._expires_at = float("-inf")
        self._last_attempt: float | None = None

    @abstractmethod
    def _load(self) -> tuple[dict[str, PyJWK], float]:
        """The current keys and how many seconds they may be kept."""

    def get(self, kid: str) -> PyJWK | None:
        """The key named ``kid``, or None when the source does not publish it."""
        if self._clock() < self._expires_at:
            key = self._keys.get(kid)
            if key is not None:
                return key
        with self._lock:
            now = self._clock()
            fresh = now < self._expires_at
            key = self._keys.get(kid)
            if key is not None and fresh:
                return key  # another thread reloaded while this one waited
            if self._may_reload(now):
                self._reload(now)
            return self._keys.get(kid)

    def clear(self) -> None:
        with self._lock:
            self._keys = {}
            self._expires_at = float("-inf")
            self._last_attempt = None

    def _may_reload(self, now: float) -> bool:
        # The first load is always allowed; every later one is rate-bounded, whatever caused it.
        return self._last_attempt is None or now - self._last_attempt >= self.min_refetch_seconds

    def _reload(self, now: float) -> None:
        self._last_attempt = now
        try:
            keys, lifetime = self._load()
        except KeySetUnavailable:
            if not self._keys:
                raise
            # Keep verifying with the keys we have; try again after the refetch interval.
            logger.warning("verification keys could not be reloaded; keeping the previous ones")
            return
        self._keys = keys
        self._expires_at = now + max(lifetime, self.min_refetch_seconds)


class LocalKeySet(CachedKeySet):
    """The public keys of this project's SigningKey table (every published state)."""

    def _load(self) -> tuple[dict[str, PyJWK], float]:
        from oauth_provider.models import SigningKey

        rows = SigningKey.objects.values_list("public_jwk", flat=True)
        return parse_jwks({"keys": list(rows)}), self.cache_seconds


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_jwks_url(url: str) -> str:
    """Refuse a JWKS URL that is not https (plain http is allowed for loopback only)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url
    raise ImproperlyConfigured(
        f"OAUTH_PROVIDER['RESOURCE_JWKS_URL'] must be an https URL (http only on loopback), not {url!r}"
    )


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Keys come from the configured URL only: a redirect is an error, never followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_RefuseRedirects)


def max_age(cache_control: str | None) -> int | None:
    """Seconds a response may be kept according to its Cache-Control header (RFC 9111 §5.2.2)."""
    if not cache_control:
        return None
    if _NO_CACHE.search(cache_control):
        return 0
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None


class RemoteKeySet(CachedKeySet):
    """The keys of a JWK Set fetched from one configured URL, kept as its Cache-Control allows.

    Subclasses may use a stricter ``opener`` (the client key sets of ``clients/keys.py`` do).
    """

    opener = _opener

    def __init__(self, url: str, *, timeout: float = 5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = check_jwks_url(url)
        self.timeout = timeout

    def _load(self) -> tuple[dict[str, PyJWK], float]:
        request = urllib.request.Request(  # noqa: S310 (scheme checked by check_jwks_url)
            self.url, headers={"Accept": "application/jwk-set+json, application/json"}
        )
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                body = response.read(MAX_JWKS_BYTES + 1)
                cache_control = response.headers.get("Cache-Control")
            if len(body) > MAX_JWKS_BYTES:
                raise ValueError("JWK Set too large")
            keys = parse_jwks(json.loads(body))
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts, bad JSON
            logger.warning("cannot fetch the JWK Set from %s: %s", self.url, exc)
            raise KeySetUnavailable() from exc
        lifetime = max_age(cache_control)
        return keys, self.cache_seconds if lifetime is None else lifetime


def key_set_from_settings(settings: Any, clock: Clock | None = None) -> CachedKeySet:
    """The key source the settings name: RESOURCE_JWKS_URL if set, else the SigningKey table."""
    options = {
        "cache_seconds": settings.RESOURCE_JWKS_CACHE_SECONDS,
        "min_refetch_seconds": settings.RESOURCE_JWKS_MIN_REFETCH_SECONDS,
        "clock": clock,
    }
    if settings.RESOURCE_JWKS_URL:
        return RemoteKeySet(settings.RESOURCE_JWKS_URL, timeout=settings.RESOURCE_JWKS_TIMEOUT, **options)
    return LocalKeySet(**options)

