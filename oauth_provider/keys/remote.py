"""Remote JWK Sets, fetched with one discipline wherever they come from (docs/SECURITY.md S17).

A ``CachedKeySet`` keeps a ``kid -> key`` dict in process and reloads it when it is older than its
lifetime, or when a token names a ``kid`` it does not know; reloads happen at most once per
``min_refetch_seconds``, so a burst of forged ``kid``s costs at most one HTTP request per interval
(RFC 8725 §3.10). A ``RemoteKeySet`` fetches one URL: no redirect is followed, the body is read up to
``MAX_JWKS_BYTES``, the request times out, and the keys are kept as Cache-Control allows. The resource
side's JWKS URL (``resource/keysets.py``) and a client's ``jwks_uri`` (``clients/keys.py``) use it.
"""

from __future__ import annotations

import http.client
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

from jwt import PyJWK

from oauth_provider.errors import TemporarilyUnavailable
from oauth_provider.jose import parse_jwk_set

logger = logging.getLogger("oauth_provider")

Clock = Callable[[], float]

# A JWK Set larger than this is not a JWK Set.
MAX_JWKS_BYTES = 512 * 1024

# Directives end at a comma or at the very end (\Z, never "$": docs/SECURITY.md S30).
_MAX_AGE = re.compile(r"(?:\A|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|\Z)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:\A|,)\s*(?:no-store|no-cache)\s*(?:,|\Z)", re.IGNORECASE)


class KeySetUnavailable(TemporarilyUnavailable):
    """No verification keys could be loaded (the remote JWKS is unreachable or malformed)."""

    default_description = "The token signing keys are temporarily unavailable."


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
        # The last reload failed: a kid we do not know may be a real new key, so the answer is
        # "keys unavailable" (503), never "unknown key" (401), until a reload succeeds.
        self._failed = False

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
            key = self._keys.get(kid)
            if key is None and self._failed:
                raise KeySetUnavailable()
            return key

    def clear(self) -> None:
        with self._lock:
            self._keys = {}
            self._expires_at = float("-inf")
            self._last_attempt = None
            self._failed = False

    def _may_reload(self, now: float) -> bool:
        # The first load is always allowed; every later one is rate-bounded, whatever caused it.
        return self._last_attempt is None or now - self._last_attempt >= self.min_refetch_seconds

    def _reload(self, now: float) -> None:
        self._last_attempt = now
        try:
            keys, lifetime = self._load()
        except KeySetUnavailable:
            self._failed = True
            if not self._keys:
                raise
            # Keep verifying with the keys we have; try again after the refetch interval.
            logger.warning("verification keys could not be reloaded; keeping the previous ones")
            return
        self._failed = False
        self._keys = keys
        self._expires_at = now + max(lifetime, self.min_refetch_seconds)


class RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Keys come from the configured URL only: a redirect is an error, never followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(RefuseRedirects)


class NonPublicAddress(OSError):
    """The URL resolved to an address the server must not fetch from (private, loopback, ...)."""


def check_peer(sock: Any, *, allow_loopback: bool) -> None:
    """The address actually connected to (after DNS, so rebinding does not help) must be a public one;
    loopback only when ``allow_loopback`` (a setting meant for tests)."""
    address = ipaddress.ip_address(sock.getpeername()[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_global:
        return
    if address.is_loopback and allow_loopback:
        return
    raise NonPublicAddress(f"refusing to fetch from {address}")


def public_opener(
    allow_loopback: Callable[[], bool], redirects: type = RefuseRedirects
) -> urllib.request.OpenerDirector:
    """An opener for URLs that untrusted parties registered (a client's jwks_uri, a sector identifier):
    no proxy from the environment, no redirect followed (``redirects`` decides how one fails), and
    every connection checked with ``check_peer`` before a byte is sent."""

    class PeerChecked:
        def connect(self) -> None:
            super().connect()
            try:
                check_peer(self.sock, allow_loopback=allow_loopback())
            except NonPublicAddress:
                self.close()
                raise

    class HTTPSConnection(PeerChecked, http.client.HTTPSConnection):
        pass

    class HTTPConnection(PeerChecked, http.client.HTTPConnection):
        pass

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(HTTPSConnection, req, context=self._context)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(HTTPConnection, req)

    return urllib.request.build_opener(urllib.request.ProxyHandler({}), redirects, HTTPSHandler, HTTPHandler)


def max_age(cache_control: str | None) -> int | None:
    """Seconds a response may be kept according to its Cache-Control header (RFC 9111 §5.2.2)."""
    if not cache_control:
        return None
    if _NO_CACHE.search(cache_control):
        return 0
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None


class RemoteKeySet(CachedKeySet):
    """The keys of a JWK Set fetched from one URL, kept as its Cache-Control allows.

    Subclasses say which URLs are acceptable (``check_url``), how to connect (``opener``) and what to
    keep of each key (``parse``): the resource side's configured JWKS URL, a client's ``jwks_uri``.
    """

    opener = _opener
    parse = staticmethod(parse_jwk_set)

    @staticmethod
    def check_url(url: str) -> str:
        return url

    def __init__(self, url: str, *, timeout: float = 5, max_cache_seconds: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = self.check_url(url)
        self.timeout = timeout
        # The longest the remote's Cache-Control may make us keep its keys (a removed key stays trusted
        # that long); None: no cap.
        self.max_cache_seconds = max_cache_seconds

    def _load(self) -> tuple[dict[str, PyJWK], float]:
        request = urllib.request.Request(  # noqa: S310 (scheme checked by check_url)
            self.url, headers={"Accept": "application/jwk-set+json, application/json"}
        )
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                body = response.read(MAX_JWKS_BYTES + 1)
                cache_control = response.headers.get("Cache-Control")
            if len(body) > MAX_JWKS_BYTES:
                raise ValueError("JWK Set too large")
            keys = self.parse(json.loads(body))
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts, bad JSON
            logger.warning("cannot fetch the JWK Set from %r: %r", self.url, str(exc))
            raise KeySetUnavailable() from exc
        lifetime = max_age(cache_control)
        if lifetime is None:
            lifetime = self.cache_seconds
        if self.max_cache_seconds is not None:
            lifetime = min(lifetime, self.max_cache_seconds)
        return keys, lifetime
