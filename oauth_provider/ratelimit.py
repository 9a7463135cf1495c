"""Rate limits: fixed-window counters in Django's cache, shared by every process (docs/SECURITY.md S23, S27).

What is counted is what an attacker does, never what a user does (docs/SECURITY.md S27):

- ``FailureBudget``: failed attempts at a credential (client authentication, password-grant logins,
  device user codes), per identity and per address. Each attempt is counted *before* the credential
  is checked (increment, then verify) as "in flight", and settled after: a failure is counted as
  one, a success is not counted at all, so successful traffic is never limited.
- ``RateLimit``: plain events per identity, for the endpoints that create rows for callers nobody
  authenticated (device authorizations of public clients, open registration), per source address.

Counting before the check. Confirmed failures alone that use up a limit refuse an attempt at once,
before any check. When a limit is used up only together with the attempts in flight (a burst of
parallel requests), the attempt waits for them (``WAIT_STEPS``, about 2 s at most): if they succeed
it goes ahead, if they fail it is refused. So 20 parallel guesses against a limit of 5 get exactly 5
checks (the reproduced race read the count, ran the slow check, then counted: all 20 were checked),
while 20 parallel successful requests are all served. A refused attempt is not counted.

Keying, so that nobody can spend a victim's budget. A *claimed* identity (a client id or a username
anyone can type) has three counters per window: the address's, the identity's, and this identity's
from this address (the "pair"). Over the address limit, the address is refused. Over the identity
limit, only addresses that have failed (or are attempting in parallel) for this identity themselves
are refused: an address with no failure for it gets its attempt checked. So the real client or user,
from an address that has not failed, is never refused because of a stranger's guesses, while a
guesser gets the identity's budget once and then one attempt per new address and window. A success
also forgives the failures its own address made for that identity (the user's typos), never the
address's other failures. An identity the server has already *proven* (the signed-in user on the
device page) is refused outright over its limit: nobody else can spend it.

The counters of one step change together (``update``): in Redis by one MULTI/EXEC pipeline (one
round trip to count an attempt and read the failures, one to settle it), elsewhere under a process
lock (exact for LocMem, which is per process; Memcached's increments are atomic per key). Django's
database cache does not increment atomically: use Redis or Memcached. A key names its window, so it
expires on its own and ``Retry-After`` is the time left in it. Identities are digested before they
become keys; IPv6 addresses count per /64 (one subscriber's network), IPv4 per address.

A fixed window may let up to twice a limit through around a window boundary; that bounds guessing
well enough and costs no database query, ever. Each lock-out is audited once per limit, identity and
window (the failure that uses the limit up, or the first event over a ``RateLimit``), never per
refused request.

Callers turn ``RateLimitExceeded`` into the answer of their protocol: 429 with ``Retry-After`` and an
RFC 6749 §5.2 body (``too_many_requests``), or the device page's 429. The counters live in the cache
named by ``OAUTH_PROVIDER['RATE_LIMIT_CACHE']``.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import caches

from oauth_provider import audit, crypto
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidRequest
from oauth_provider.http import NO_CONTEXT, RequestContext

KEY_PREFIX = "oauth_provider:ratelimit:"


class RateLimitExceeded(Exception):
    """The identity used up its budget; ``retry_after`` seconds until the window ends."""

    def __init__(self, name: str, retry_after: int) -> None:
        self.name = name
        self.retry_after = retry_after
        super().__init__(f"rate limit {name} exceeded; retry after {retry_after} s")


def _now() -> float:
    return time.time()


def _cache():
    return caches[oauth_settings.RATE_LIMIT_CACHE]


def address_identity(ip_address: str | None) -> str | None:
    """What an address is counted as: an IPv4 address itself, an IPv6 address its /64 network (one
    subscriber gets a whole /64), an IPv4-mapped IPv6 address its IPv4 address."""
    if not ip_address:
        return None
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return ip_address
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


# --- counters --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The current window of ``seconds``: its index since the epoch and the whole seconds left (>= 1)."""

    seconds: int
    index: int
    left: int

    @classmethod
    def now(cls, seconds: int) -> Window:
        now = _now()
        index = int(now // seconds)
        left = (index + 1) * seconds - now
        return cls(seconds, index, max(int(left + 0.999), 1))

    @property
    def timeout(self) -> int:
        # A second of slack so a key never expires while its window is still current.
        return self.left + 1


def _key(name: str, identity: str, window: Window) -> str:
    return f"{KEY_PREFIX}{name}:{crypto.digest(identity)}:{window.index}"


def _redis_client(cache):
    """The write client of Django's own RedisCache (one pipeline per operation), or None."""
    try:
        from django.core.cache.backends.redis import RedisCache
    except ImportError:  # pragma: no cover - Django without redis support
        return None
    if not isinstance(cache, RedisCache):
        return None
    return cache._cache.get_client(write=True)


_LOCK = threading.Lock()


def update(increments: list[str], decrements: dict[str, int], reads: list[str], timeout: int) -> tuple[list[int],
                                                                                                       list[int]]:
    """One step on the counters, together: raise each of ``increments`` by one (creating it with
    ``timeout``), lower each of ``decrements`` by its amount (a counter that expired stays gone), and
    read ``reads`` (0 when missing). Returns (the raised values, the values read).

    Redis: one MULTI/EXEC pipeline (``SET NX EX`` + ``INCR``, ``DECRBY`` + ``EXPIRE``, ``GET``), one
    round trip, atomic. Other backends: ``cache.incr``/``cache.add``/``get_many`` under a process lock,
    so one process's steps never interleave (exact for LocMem, which is per process; on Memcached each
    increment is atomic, and steps of several processes may interleave between keys).
    """
    decrements = {key: amount for key, amount in decrements.items() if amount > 0}
    cache = _cache()
    client = _redis_client(cache)
    if client is not None:
        pipeline = client.pipeline()
        for key in increments:
            full_key = cache.make_and_validate_key(key)
            pipeline.set(full_key, 0, ex=timeout, nx=True)
            pipeline.incr(full_key)
        for key, amount in decrements.items():
            full_key = cache.make_and_validate_key(key)
            pipeline.decrby(full_key, amount)
            pipeline.expire(full_key, timeout)  # a key that had expired comes back negative, and goes
        for key in reads:
            pipeline.get(cache.make_and_validate_key(key))
        results = pipeline.execute()
        raised = [int(value) for value in results[1:2 * len(increments):2]]
        read = [int(value or 0) for value in results[2 * (len(increments) + len(decrements)):]]
        return raised, read
    with _LOCK:
        raised = [_increment_one(cache, key, timeout) for key in increments]
        for key, amount in decrements.items():
            with suppress(ValueError):
                cache.incr(key, -amount)
        found = cache.get_many(reads) if reads else {}
    return raised, [int(found.get(key) or 0) for key in reads]


def increment(keys: list[str], timeout: int) -> list[int]:
    """Raise each counter by one, creating it (with ``timeout``) if it is missing; the new values."""
    return update(keys, {}, [], timeout)[0]


def _increment_one(cache, key: str, timeout: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:
        pass
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)  # another process created it in between
    except ValueError:
        cache.set(key, 1, timeout=timeout)  # ... and it expired at once: first event of its window
        return 1


def _audit_reached(event: str, name: str, context: RequestContext, details: dict[str, Any]) -> None:
    audit.record(event, context=context, limit=name, **details)


# --- plain event limits ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` events per identity in each window of ``window`` seconds; None: unlimited."""

    name: str
    limit: int | None
    window: int

    def hit(self, identity: str | None, *, context: RequestContext | None = None, **details: Any) -> None:
        """Count one event and raise RateLimitExceeded if it went over the limit. With a ``context``,
        the first event over the limit in a window is audited (with ``details``)."""
        if self.limit is None or not identity:
            return
        window = Window.now(self.window)
        [value] = increment([_key(self.name, identity, window)], window.timeout)
        if value == self.limit + 1 and context is not None:
            _audit_reached(audit.RATE_LIMIT_REACHED, self.name, context, details)
        if value > self.limit:
            raise RateLimitExceeded(self.name, window.left)

    def reset(self, identity: str) -> None:
        """Forget the current window's events."""
        _cache().delete(_key(self.name, identity, Window.now(self.window)))


def limit_per_address(limit: RateLimit, context: RequestContext, **details: Any) -> None:
    """Count one event of ``context``'s address; over the limit, the 429 of ``too_many_requests``."""
    try:
        limit.hit(address_identity(context.ip_address), context=context, **details)
    except RateLimitExceeded as exc:
        raise too_many_requests(exc.retry_after) from exc


# --- failure budgets ---------------------------------------------------------------------------------

ADDRESS, PAIR, IDENTITY = "address", "pair", "identity"

# A request that may only be over a limit because of attempts still being checked waits for them
# (they may succeed), in these steps, for about 2 s at most; then it is refused.
WAIT_STEPS = (0.01, 0.02, 0.05, 0.1, 0.1, 0.2, 0.25, 0.25, 0.5, 0.5)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


@dataclass(frozen=True)
class FailureBudget:
    """Failed attempts at one kind of credential per identity and per address in each window
    (the module docstring). ``claimed``: the identity is only claimed by the request (the pair
    rule applies); otherwise it is already proven and its limit refuses it outright.

    Each counter is two keys: its confirmed failures, and its attempts in flight (counted before
    the check, settled after). An attempt is refused at once when the confirmed failures alone use
    up a limit; when only the attempts in flight do, it waits for them (``WAIT_STEPS``), because
    they may succeed: a burst of parallel successes is served, a burst of parallel guesses is
    checked only up to the limit.
    """

    name: str
    per_identity: int | None
    per_address: int | None
    window: int
    claimed: bool = True
    event: str = audit.RATE_LIMIT_REACHED

    @contextmanager
    def attempt(
        self,
        identity: str | None,
        context: RequestContext = NO_CONTEXT,
        *,
        failure: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        refusal: Callable[[int], Exception] | None = None,
        **details: Any,
    ) -> Iterator[Reservation]:
        """Count an attempt, then run the block that checks the credential.

        Over a limit nothing runs: ``refusal(retry_after)`` is raised (RateLimitExceeded without one).
        The block raising ``failure`` is a failed attempt: it is counted, and the failure that uses
        up a limit is audited (with ``details``). A block that ends normally is a success: it is not
        counted, and its address's failures for the identity are forgiven. Any other exception is
        not counted either: it was not the caller's guess.
        """
        try:
            reservation = self.reserve(identity, context)
        except RateLimitExceeded as exc:
            if refusal is None:
                raise
            raise refusal(exc.retry_after) from exc
        try:
            yield reservation
        except failure:
            reservation.failed(context, details)
            raise
        except BaseException:
            reservation.settle()
            raise
        reservation.succeeded()

    def _counters(self, identity: str | None, address: str | None) -> list[tuple[str, int | None, str]]:
        """(role, limit, identity) of the counters of one attempt, in the order they are raised."""
        counters: list[tuple[str, int | None, str]] = []
        if self.per_address is not None and address is not None:
            counters.append((ADDRESS, self.per_address, address))
        if self.per_identity is not None and identity:
            if self.claimed:
                counters.append((PAIR, None, f"{identity}\x00{address or '-'}"))
            counters.append((IDENTITY, self.per_identity, identity))
        return counters

    def limit_of(self, role: str) -> int | None:
        return {ADDRESS: self.per_address, IDENTITY: self.per_identity}.get(role)

    def reserve(self, identity: str | None, context: RequestContext = NO_CONTEXT) -> Reservation:
        """Count one attempt in flight before its check; raise RateLimitExceeded if it must not be
        checked (at once, or after waiting for the attempts in flight)."""
        address = address_identity(context.ip_address)
        for wait in (*WAIT_STEPS, None):
            window = Window.now(self.window)
            counters = self._counters(identity, address)
            roles = [role for role, _, _ in counters]
            inflight = {role: _key(f"{self.name}-{role}-inflight", value, window) for role, _, value in counters}
            failures = {role: _key(f"{self.name}-{role}-failures", value, window) for role, _, value in counters}
            raised, read = update(list(inflight.values()), {}, list(failures.values()), window.timeout)
            reservation = Reservation(self, window, inflight, failures, dict(zip(roles, raised, strict=True)),
                                      dict(zip(roles, read, strict=True)))
            verdict = reservation.verdict()
            if verdict is None:
                return reservation
            reservation.settle()
            refused, final = verdict
            if final or wait is None:
                raise RateLimitExceeded(f"{self.name}-{refused}", window.left)
            _sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class Reservation:
    """One attempt in flight: its keys, and the counts it saw (``inflight`` includes itself)."""

    budget: FailureBudget
    window: Window
    inflight_keys: dict[str, str]
    failure_keys: dict[str, str]
    inflight: dict[str, int]
    failures: dict[str, int]
    settled: bool = field(default=False)

    def _state(self, role: str) -> tuple[bool, bool]:
        """(used up by confirmed failures alone, used up counting the attempts in flight) for ``role``."""
        limit = self.budget.limit_of(role)
        if role not in self.inflight or limit is None:
            return False, False
        failed = self.failures[role]
        return failed >= limit, failed + self.inflight[role] > limit

    def verdict(self) -> tuple[str, bool] | None:
        """None: the attempt may be checked. Else (the refusing role, whether it is final) — not
        final when only attempts in flight, which may still succeed, make it refused."""
        address_final, address_busy = self._state(ADDRESS)
        if address_final:
            return ADDRESS, True
        identity_final, identity_busy = self._state(IDENTITY)
        if self.budget.claimed and IDENTITY in self.inflight:
            # A claimed identity refuses only addresses that failed for it (or are trying in parallel).
            pair_failed = self.failures[PAIR] > 0
            pair_busy = self.failures[PAIR] + self.inflight[PAIR] > 1
            identity_final = identity_final and pair_failed
            identity_busy = identity_busy and pair_busy
        if identity_final:
            return IDENTITY, True
        if address_busy:
            return ADDRESS, False
        if identity_busy:
            return IDENTITY, False
        return None

    def settle(self, extra: dict[str, int] | None = None, failed: bool = False) -> list[int]:
        """The attempt is no longer in flight; ``failed``: count it as a failure (the new counts)."""
        if self.settled:
            return []
        self.settled = True
        decrements = {key: 1 for key in self.inflight_keys.values()}
        decrements.update(extra or {})
        increments = list(self.failure_keys.values()) if failed else []
        return update(increments, decrements, [], self.window.timeout)[0]

    def failed(self, context: RequestContext, details: dict[str, Any]) -> None:
        """Count the failure; the one that uses up a limit is audited (once per limit, identity and window)."""
        counts = dict(zip(self.failure_keys, self.settle(failed=True), strict=True))
        for role, count in counts.items():
            if count == self.budget.limit_of(role):
                _audit_reached(self.budget.event, f"{self.budget.name}-{role}", context, details)

    def succeeded(self) -> None:
        """The credential was right: not counted, and this address's failures for the identity are
        forgiven (never the address's own count: its other failures stand)."""
        earlier = self.failures.get(PAIR, 0)
        extra = {self.failure_keys[PAIR]: earlier, self.failure_keys[IDENTITY]: earlier} if earlier else {}
        self.settle(extra)


# --- the budgets and their answers -------------------------------------------------------------------


def client_authentication_failures() -> FailureBudget:
    """Client authentication at every endpoint that authenticates clients (and registration tokens)."""
    return FailureBudget(
        "client-auth",
        oauth_settings.CLIENT_AUTH_MAX_FAILURES,
        oauth_settings.CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS,
        oauth_settings.CLIENT_AUTH_FAILURE_WINDOW,
    )


def password_failures() -> FailureBudget:
    """Password-grant logins, per username (case-folded) and per address."""
    return FailureBudget(
        "password",
        oauth_settings.PASSWORD_GRANT_MAX_FAILURES,
        oauth_settings.PASSWORD_GRANT_MAX_FAILURES_PER_ADDRESS,
        oauth_settings.PASSWORD_GRANT_FAILURE_WINDOW,
    )


def device_user_code_failures() -> FailureBudget:
    """Wrong user codes on the device page, per signed-in user (proven) and per address."""
    return FailureBudget(
        "device-user-code",
        oauth_settings.DEVICE_USER_CODE_MAX_FAILURES,
        oauth_settings.DEVICE_USER_CODE_MAX_FAILURES_PER_ADDRESS,
        oauth_settings.DEVICE_USER_CODE_FAILURE_WINDOW,
        claimed=False,
        event=audit.DEVICE_USER_CODE_RATE_LIMITED,
    )


def public_device_authorizations() -> RateLimit:
    return RateLimit("device-authorization-address", oauth_settings.PUBLIC_DEVICE_AUTHORIZATIONS_PER_ADDRESS,
                     oauth_settings.UNAUTHENTICATED_CREATIONS_WINDOW)


def open_registrations() -> RateLimit:
    return RateLimit("open-registration-address", oauth_settings.OPEN_REGISTRATIONS_PER_ADDRESS,
                     oauth_settings.UNAUTHENTICATED_CREATIONS_WINDOW)


TOO_MANY_REQUESTS = "Too many requests; try again later."
TOO_MANY_TOKEN_REQUESTS = "Too many token requests; try again later."


def too_many_requests(retry_after: int | None, description: str = TOO_MANY_REQUESTS) -> InvalidRequest:
    """A 429 (RFC 6585 §4) with an RFC 6749 §5.2 body and ``Retry-After``.

    RFC 6749 §5.2 defines no error code for throttling and limits the token endpoint's codes to its
    list; ``temporarily_unavailable`` belongs to the authorization endpoint (§4.1.2.1), and this
    server already answers it with 503 when its database fails, which is the server's problem, not
    the client's. So the body is ``invalid_request`` (every client library knows it), while the
    status 429 and ``Retry-After`` say precisely what happened and when to try again.
    ``slow_down`` is the device grant's polling answer (RFC 8628 §3.5) and is not used here.
    """
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return InvalidRequest(description, status_code=429, headers=headers)


def too_many_token_requests(retry_after: int) -> InvalidRequest:
    """The token endpoint's 429, with the body it has always had."""
    return too_many_requests(retry_after, TOO_MANY_TOKEN_REQUESTS)
