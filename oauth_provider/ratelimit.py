"""Rate limits: fixed-window counters in Django's cache, shared by every process (docs/SECURITY.md S23, S27).

What is counted is what an attacker does, never what a user does (docs/SECURITY.md S27):

- ``FailureBudget``: failed attempts at a credential (client authentication, password-grant logins,
  device user codes), per identity and per source address. The attempt is counted *before* the
  credential is checked (increment, then verify), so concurrent guesses cannot all pass a check that
  only counts afterwards; a success gives its count back, so successful traffic is never limited.
- ``RateLimit``: plain events per identity, for the endpoints that create rows for callers nobody
  authenticated (device authorizations of public clients, open registration), per source address.

Keying, so that nobody can spend a victim's budget. A *claimed* identity (a client id or a username
anyone can type) has three counters per window: the address's failures, the identity's failures and
the failures of this identity from this address (the "pair"). Over the address limit, the address
is refused. Over the identity limit, only addresses that have failed (or are attempting) for this
identity themselves are refused: a request whose pair count is 1 is evaluated. So the real client or
user, from an address that has not failed, is never refused because of a stranger's guesses, while a
guesser gets the identity's budget once and then one attempt per new address and window. A success
also forgives the failures its own address made for that identity (the user's typos), never the
address's other failures. An identity the server has already *proven* (the signed-in user on the
device page) is refused outright over its limit: nobody else can spend it.

The counters of one attempt are raised together, in order address, pair, identity: in Redis by one
MULTI/EXEC pipeline (``SET NX EX`` + ``INCR`` per key, one round trip; a second one gives a success's
counts back), elsewhere with ``cache.incr`` / ``cache.add`` under a process lock (exact for LocMem,
which is per process; Memcached's increments are atomic per key). So of the parallel requests of one
address, the first to raise the pair also has the lowest identity count: of 20 parallel guesses
against a limit of 5, exactly 5 are evaluated (on Memcached, across processes, at most one more).
Django's database cache does not increment atomically: use Redis or Memcached. A key names its
window, so it expires on its own and ``Retry-After`` is the time left in it. Identities are digested
before they become keys; IPv6 addresses count per /64 (one subscriber's network), IPv4 per address.

A fixed window may let up to twice a limit through around a window boundary; that bounds guessing
well enough and costs no database query, ever. Each lock-out is audited once per limit, identity and
window (the event that first goes over the limit), never per refused request.

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


_INCREMENT_LOCK = threading.Lock()


def increment(keys: list[str], timeout: int) -> list[int]:
    """Raise each counter by one, in order, creating it (with ``timeout``) if it is missing; the new values."""
    cache = _cache()
    client = _redis_client(cache)
    if client is not None:
        pipeline = client.pipeline()
        for key in keys:
            full_key = cache.make_and_validate_key(key)
            pipeline.set(full_key, 0, ex=timeout, nx=True)
            pipeline.incr(full_key)
        return [int(value) for value in pipeline.execute()[1::2]]
    # One process's counters of one attempt change together (LocMem is per process, so it is exact);
    # across processes on Memcached, parallel requests of one address may interleave between keys.
    with _INCREMENT_LOCK:
        return [_increment_one(cache, key, timeout) for key in keys]


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


def give_back(deltas: dict[str, int], timeout: int) -> None:
    """Lower each counter by its amount; a counter that has expired stays gone."""
    deltas = {key: amount for key, amount in deltas.items() if amount > 0}
    if not deltas:
        return
    cache = _cache()
    client = _redis_client(cache)
    if client is not None:
        pipeline = client.pipeline()
        for key, amount in deltas.items():
            full_key = cache.make_and_validate_key(key)
            pipeline.decrby(full_key, amount)
            pipeline.expire(full_key, timeout)  # a key that had expired comes back negative, and goes
        pipeline.execute()
        return
    for key, amount in deltas.items():
        with suppress(ValueError):
            cache.incr(key, -amount)


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


@dataclass(frozen=True)
class FailureBudget:
    """Failed attempts at one kind of credential per identity and per address in each window
    (the module docstring). ``claimed``: the identity is only claimed by the request (the pair
    rule applies); otherwise it is already proven and its limit refuses it outright."""

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
        The block raising ``failure`` is a failed attempt: it stays counted. A block that ends
        normally is a success: its count is given back (and its address's failures for the identity
        forgiven). Any other exception gives the count back too: it was not the caller's guess.
        ``details`` go to the audit event of a lock-out.
        """
        try:
            reservation = self.reserve(identity, context, **details)
        except RateLimitExceeded as exc:
            if refusal is None:
                raise
            raise refusal(exc.retry_after) from exc
        try:
            yield reservation
        except failure:
            raise
        except BaseException:
            reservation.give_back()
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

    def reserve(self, identity: str | None, context: RequestContext = NO_CONTEXT, **details: Any) -> Reservation:
        """Count one attempt before its check; raise RateLimitExceeded if it must not be checked."""
        window = Window.now(self.window)
        counters = self._counters(identity, address_identity(context.ip_address))
        keys = {role: _key(f"{self.name}-{role}", value, window) for role, _, value in counters}
        values = dict(zip(keys, increment(list(keys.values()), window.timeout), strict=True))
        reservation = Reservation(self, window, keys, values)
        for role, limit, _ in counters:
            if limit is not None and values[role] == limit + 1:
                _audit_reached(self.event, f"{self.name}-{role}", context, details)
        refused = reservation.refused_by()
        if refused is not None:
            raise RateLimitExceeded(f"{self.name}-{refused}", window.left)
        return reservation


@dataclass
class Reservation:
    """One counted attempt: the keys it raised and their values after it."""

    budget: FailureBudget
    window: Window
    keys: dict[str, str]
    values: dict[str, int]
    settled: bool = field(default=False)

    def _over(self, role: str, limit: int | None) -> bool:
        return role in self.values and limit is not None and self.values[role] > limit

    def refused_by(self) -> str | None:
        """The role of the counter that refuses this attempt, or None if it may be checked."""
        budget = self.budget
        if self._over(ADDRESS, budget.per_address):
            return ADDRESS
        # A claimed identity refuses only the addresses that failed for it (or are trying in parallel).
        if self._over(IDENTITY, budget.per_identity) and (not budget.claimed or self.values.get(PAIR, 1) > 1):
            return IDENTITY
        return None

    def give_back(self) -> None:
        """The attempt was no failure: lower each counter it raised by one."""
        if not self.settled:
            self.settled = True
            give_back({key: 1 for key in self.keys.values()}, self.window.timeout)

    def succeeded(self) -> None:
        """The credential was right: give the count back and forgive this address's earlier failures
        for the identity (never the address's own count: its other failures stand)."""
        if self.settled:
            return
        self.settled = True
        deltas = {key: 1 for key in self.keys.values()}
        earlier = self.values.get(PAIR, 1) - 1
        if earlier > 0:
            deltas[self.keys[PAIR]] += earlier
            deltas[self.keys[IDENTITY]] += earlier
        give_back(deltas, self.window.timeout)


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
