"""Rate limits: fixed-window counters in Django's cache, shared by every process (docs/SECURITY.md S23).

A ``RateLimit`` counts events per identity (a client id, a source address, a username) in
windows of ``window`` seconds that start at multiples of ``window`` since the epoch. A counter is
one cache key, created with ``cache.add`` and raised with ``cache.incr``: both are atomic in Redis
and Memcached, so concurrent workers never lose a count. The key names the window, so it
expires on its own and ``Retry-After`` is exactly the time left in it. Identities are digested
before they become keys (a username may hold characters a backend refuses).

A fixed window may let up to twice the limit through around a window boundary; that bounds guessing
well enough and costs one cache round trip per check (no database query, ever).

Callers turn ``RateLimitExceeded`` into the answer of their protocol: the token endpoint answers
429 with an RFC 6749 §5.2 body (``token_endpoint_limits``); the device flow answers ``slow_down``.
The counters live in the cache named by ``OAUTH_PROVIDER['RATE_LIMIT_CACHE']``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import caches

from oauth_provider import crypto
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidRequest

KEY_PREFIX = "oauth_provider:ratelimit:"


class RateLimitExceeded(Exception):
    """The identity used up its budget; ``retry_after`` seconds until the window ends."""

    def __init__(self, name: str, retry_after: int) -> None:
        self.name = name
        self.retry_after = retry_after
        super().__init__(f"rate limit {name} exceeded; retry after {retry_after} s")


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` events per identity in each window of ``window`` seconds; None: unlimited."""

    name: str
    limit: int | None
    window: int

    def _window_position(self) -> tuple[int, int]:
        """(index of the current window, whole seconds left in it, at least 1)."""
        now = _now()
        index = int(now // self.window)
        left = (index + 1) * self.window - now
        return index, max(int(left + 0.999), 1)

    def _key(self, identity: str, index: int) -> str:
        return f"{KEY_PREFIX}{self.name}:{crypto.digest(identity)}:{index}"

    def hit(self, identity: str) -> None:
        """Count one event and raise RateLimitExceeded if it went over the limit."""
        if self.limit is None:
            return
        index, left = self._window_position()
        if self._increment(self._key(identity, index), left) > self.limit:
            raise RateLimitExceeded(self.name, left)

    def check(self, identity: str) -> None:
        """Raise RateLimitExceeded if the budget is already used up, without counting."""
        if self.limit is None:
            return
        index, left = self._window_position()
        if (_cache().get(self._key(identity, index)) or 0) >= self.limit:
            raise RateLimitExceeded(self.name, left)

    def count(self, identity: str) -> None:
        """Count one event without judging it (e.g. a failure, judged by ``check`` next time)."""
        if self.limit is None:
            return
        index, left = self._window_position()
        self._increment(self._key(identity, index), left)

    def reset(self, identity: str) -> None:
        """Forget the current window's events (e.g. after a success)."""
        index, _ = self._window_position()
        _cache().delete(self._key(identity, index))

    @staticmethod
    def _increment(key: str, timeout: int) -> int:
        cache = _cache()
        # A second of slack so the key never expires while its window is still current.
        if cache.add(key, 1, timeout=timeout + 1):
            return 1
        try:
            return cache.incr(key)
        except ValueError:
            # The key expired between add and incr: this is the first event of its window.
            cache.set(key, 1, timeout=timeout + 1)
            return 1


def _cache():
    return caches[oauth_settings.RATE_LIMIT_CACHE]


def token_requests_per_client() -> RateLimit:
    return RateLimit("token-client", oauth_settings.TOKEN_RATE_LIMIT_PER_CLIENT, oauth_settings.TOKEN_RATE_LIMIT_WINDOW)


def token_requests_per_address() -> RateLimit:
    return RateLimit(
        "token-address", oauth_settings.TOKEN_RATE_LIMIT_PER_ADDRESS, oauth_settings.TOKEN_RATE_LIMIT_WINDOW
    )


def password_failures_per_username() -> RateLimit:
    return RateLimit(
        "password-failures",
        oauth_settings.PASSWORD_GRANT_MAX_FAILURES,
        oauth_settings.PASSWORD_GRANT_FAILURE_WINDOW,
    )


def too_many_token_requests(retry_after: int) -> InvalidRequest:
    """The token endpoint's 429 (RFC 6585 §4) with an RFC 6749 §5.2 body.

    RFC 6749 §5.2 defines no error code for throttling and limits the token endpoint's codes to its
    list; ``temporarily_unavailable`` belongs to the authorization endpoint (§4.1.2.1), and this
    server already answers it with 503 when its database fails, which is the server's problem, not
    the client's. So the body is ``invalid_request`` (every client library knows it), while the
    status 429 and ``Retry-After`` say precisely what happened and when to try again.
    ``slow_down`` is the device grant's polling answer (RFC 8628 §3.5) and is not used here.
    """
    return InvalidRequest(
        "Too many token requests; try again later.",
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )


def limit_token_requests_from(ip_address: str | None) -> None:
    """Count a token request against its source address; the first thing the endpoint does."""
    _hit_or_429(token_requests_per_address(), ip_address)


def limit_token_requests_of(client_id: str | None) -> None:
    """Count a token request against the client id it presents, before the client is authenticated,
    so that guessing a client's secret is limited too."""
    _hit_or_429(token_requests_per_client(), client_id)


def _hit_or_429(limit: RateLimit, identity: str | None) -> None:
    if not identity:
        return
    try:
        limit.hit(identity)
    except RateLimitExceeded as exc:
        raise too_many_token_requests(exc.retry_after) from exc
