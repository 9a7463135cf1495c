"""Revoking tokens, and the in-process list of revoked access tokens that resource servers consult.

Writing. Every path that revokes access tokens comes here: ``revoke_access_tokens`` (RFC 7009, code
replay, consent withdrawal, the admin's actions), ``revoke_refresh_families`` (refresh-token reuse,
revoking a refresh token), ``revoke_client_tokens`` (``clients.lifecycle``: deactivation, deletion),
``revoke_user_tokens`` (a user deactivated, ``user_deactivated``, or deleted), ``revoke_key_tokens`` (a
signing key deleted); the admin revokes a token before deleting its row.
Each marks the AccessToken rows and, in the same transaction, writes one ``RevokedAccessToken`` row per
``jti``: the store of record, a table without foreign keys that nothing evicts before the token
expires (``oauth_cleanup`` deletes the rows after that). Once the transaction commits the jtis are
also added to this process's list, so the revoking process refuses them at once.

Reading (docs/SECURITY.md S26). ``is_jti_revoked(jti)`` is a dict membership test on the list of this
process (``RevocationList``): revoked tokens are few and only unexpired ones matter, so every process
holds them all (jti -> exp). No database query and no cache round trip happen on the request path.
A daemon thread per process (started on the first check) reads the table every
``RESOURCE_REVOCATION_REFRESH_SECONDS``, only the rows revoked since its last read
(``revoked_at > last read - OVERLAP_SECONDS``), with a full read every ``FULL_READ_SECONDS``.
Why a thread rather than a refresh triggered by requests: an idle process stays fresh, so no request
ever waits for a read or is refused after a quiet spell; and the thread's queries run on its own
database connection, never inside a request's transaction or its query budget.

The bound. A check answers from a read that started at most ``RESOURCE_REVOCATION_MAX_AGE`` seconds
ago (default 2 s): a revocation committed before that read is seen, so a revoked token is refused in
every process within that bound. When the list is older (the database is unreachable, the thread
is stuck), the check fails closed: ``RevocationListUnavailable``, a 503 ``temporarily_unavailable``,
never "not revoked". The first check of a process waits (at most that bound) for the first read.

Bounded loops. The thread's loop does one read per interval and stops when ``stop()`` is called or
the process exits (daemon); a failed read is logged, its connection closed, and tried again at the
next interval, never in a tight loop. After ``fork`` the child starts its own thread on first use.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import TemporarilyUnavailable
from oauth_provider.models import AccessToken, Application, RefreshToken, RevokedAccessToken

logger = logging.getLogger("oauth_provider.revocation")

# An incremental read also re-reads the rows stamped this long before the previous read started: a
# revocation whose transaction committed a little after its ``revoked_at`` (or a writer whose clock
# is a little behind) is not missed.
OVERLAP_SECONDS = 5.0
# Every so often the whole (small) table of unexpired revocations is read again, which catches even
# a transaction that took longer than the overlap, and forgets entries that have expired.
FULL_READ_SECONDS = 60.0
# Entries are kept this long past the token's ``exp`` (the resource side's leeway must be smaller).
EXPIRY_GRACE_SECONDS = 300.0


class RevocationListUnavailable(TemporarilyUnavailable):
    """The list is older than the bound: whether the token is revoked is not known, so it is refused."""

    default_description = "The server cannot check token revocation right now; try again in a moment."

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description, headers={"Retry-After": "1"})


class RevocationList:
    """This process's revoked-and-unexpired access tokens (jti -> exp), refreshed by a daemon thread.

    ``refresh_seconds`` and ``max_age`` default to the settings (re-read at every refresh);
    ``background=False`` never starts the thread (whoever holds the list calls ``refresh()``).
    ``clock`` is the monotonic clock freshness is measured with (a test seam).
    """

    def __init__(
        self,
        *,
        refresh_seconds: float | None = None,
        max_age: float | None = None,
        background: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fixed_refresh_seconds = refresh_seconds
        self._fixed_max_age = max_age
        self.background = background
        self.clock = clock
        self.refresh_seconds = refresh_seconds if refresh_seconds is not None else 0.5
        self.max_age = max_age if max_age is not None else 2.0
        self._expiry: dict[str, float] = {}
        self._reset_state()

    def _reset_state(self) -> None:
        """Everything but the entries (which are never dropped before they expire)."""
        self._lock = threading.Lock()
        self._loaded = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loaded_at: float | None = None  # monotonic time the last successful read started
        self._watermark: datetime | None = None  # wall time the last successful read started
        self._full_read_at: float | None = None
        self._failing = False

    # --- the request path ------------------------------------------------------------------------

    def is_revoked(self, jti: str) -> bool:
        """Whether ``jti`` is revoked; ``RevocationListUnavailable`` when the list is too old to say."""
        loaded_at = self._loaded_at
        if loaded_at is None or self.clock() - loaded_at > self.max_age:
            self._when_stale()
        return jti in self._expiry

    def _when_stale(self) -> None:
        self.start()
        if self._loaded_at is None and self._running():
            # The first check of the process waits for the first read, at most the bound.
            self._loaded.wait(self.max_age)
        if not self.is_fresh():
            raise RevocationListUnavailable()

    def is_fresh(self) -> bool:
        loaded_at = self._loaded_at
        return loaded_at is not None and self.clock() - loaded_at <= self.max_age

    # --- writing ---------------------------------------------------------------------------------

    def add(self, entries: Iterable[tuple[str, datetime]]) -> None:
        """Revocations this process made (after their commit): refused here at once."""
        with self._lock:
            self._expiry.update((jti, expires_at.timestamp()) for jti, expires_at in entries)

    def refresh(self) -> int:
        """Read the revocations recorded since the last read (all of them, now and then); rows read."""
        self._configure()
        started, now = self.clock(), timezone.now()
        full = self._watermark is None or started - (self._full_read_at or 0.0) >= FULL_READ_SECONDS
        rows = RevokedAccessToken.objects.filter(expires_at__gt=now - timedelta(seconds=EXPIRY_GRACE_SECONDS))
        if not full:
            rows = rows.filter(revoked_at__gt=self._watermark - timedelta(seconds=OVERLAP_SECONDS))
        found = [(jti, expires_at.timestamp()) for jti, expires_at in rows.values_list("jti", "expires_at")]
        with self._lock:
            if full:
                cutoff = now.timestamp() - EXPIRY_GRACE_SECONDS
                kept = {jti: exp for jti, exp in self._expiry.items() if exp > cutoff}
                kept.update(found)
                self._expiry = kept
                self._full_read_at = started
            else:
                self._expiry.update(found)
            if self._watermark is None or now > self._watermark:
                self._watermark = now
            if self._loaded_at is None or started > self._loaded_at:
                self._loaded_at = started
        self._loaded.set()
        return len(found)

    def assume_read(self) -> None:
        """Count as read now, with nothing revoked (tests; a process that fills the list itself)."""
        with self._lock:
            self._loaded_at = self.clock()
        self._loaded.set()

    def _configure(self) -> None:
        if self._fixed_refresh_seconds is None:
            self.refresh_seconds = float(oauth_settings.RESOURCE_REVOCATION_REFRESH_SECONDS)
        if self._fixed_max_age is None:
            self.max_age = float(oauth_settings.RESOURCE_REVOCATION_MAX_AGE)

    # --- the thread ------------------------------------------------------------------------------

    def _running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Start the refresh thread unless it runs (or ``background`` is off)."""
        if not self.background or self._running():
            return
        with self._lock:
            if self._running() or self._stop.is_set():
                return
            self._configure()
            self._thread = threading.Thread(target=self._run, name="oauth-provider-revocations", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (tests, shutdown); it ends within one interval."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self._stop.is_set():
                if not self.refresh_quietly():
                    connection.close()  # this thread's own connection: the next read reconnects
                self._stop.wait(self.refresh_seconds)
        finally:
            connection.close()

    def refresh_quietly(self) -> bool:
        """One ``refresh()``; False when it failed. Logged when reads start failing (the class name
        only) and when they work again, not twice a second while the database is down."""
        try:
            self.refresh()
        except Exception as exc:  # the database down, a broken connection: try again next interval
            if not self._failing:
                self._failing = True
                logger.warning("The revocation list could not be refreshed (%s); once it is older than "
                               "RESOURCE_REVOCATION_MAX_AGE, protected requests get 503.", type(exc).__name__)
            return False
        if self._failing:
            self._failing = False
            logger.warning("The revocation list is refreshed again.")
        return True

    def after_fork(self) -> None:
        """In a forked child: no thread yet, and a read of its own before the next check answers."""
        self._reset_state()


_revocations = RevocationList()


def revocation_list() -> RevocationList:
    """The list of this process (``install`` replaces it: tests, or a project with its own refresh)."""
    return _revocations


def install(revocations: RevocationList) -> RevocationList:
    """Make ``revocations`` the list of this process; returns the one it replaces (not stopped)."""
    global _revocations
    previous, _revocations = _revocations, revocations
    return previous


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _revocations.after_fork())


def is_jti_revoked(jti: str) -> bool:
    """The resource side's check: a membership test on this process's list (no query, no cache).

    Raises ``RevocationListUnavailable`` (503) when the list is older than RESOURCE_REVOCATION_MAX_AGE.
    """
    return _revocations.is_revoked(jti)


# --- writing the revocations ---------------------------------------------------------------------


def _record(entries: list[tuple[str, datetime]], now: datetime) -> None:
    """Write the store of record in the caller's transaction; tell this process's list after commit."""
    if not entries:
        return
    RevokedAccessToken.objects.bulk_create(
        [RevokedAccessToken(jti=jti, expires_at=expires_at, revoked_at=now) for jti, expires_at in entries],
        batch_size=500, ignore_conflicts=True,
    )
    transaction.on_commit(lambda: _revocations.add(entries))


def revoke_access_tokens(tokens: QuerySet[AccessToken]) -> int:
    """Revoke the live tokens of ``tokens``: mark the rows, record the jtis (see the module docstring)."""
    now = timezone.now()
    live = list(tokens.filter(revoked_at__isnull=True, expires_at__gt=now).values_list("pk", "jti", "expires_at"))
    if not live:
        return 0
    AccessToken.objects.filter(pk__in=[pk for pk, _, _ in live]).update(revoked_at=now)
    _record([(jti, expires_at) for _, jti, expires_at in live], now)
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

    docs/SECURITY.md S4 and S26: every resource server of the deployment then refuses its access tokens.
    Returns (access tokens revoked, refresh tokens revoked).
    """
    now = timezone.now()
    refresh = RefreshToken.objects.filter(application=application, revoked_at__isnull=True).update(revoked_at=now)
    access = revoke_access_tokens(AccessToken.objects.filter(application=application))
    return access, refresh


def revoke_user_tokens(user: Any) -> tuple[int, int]:
    """Revoke every live access and refresh token of a user, for every client; (access, refresh)."""
    now = timezone.now()
    refresh = RefreshToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    access = revoke_access_tokens(AccessToken.objects.filter(user=user))
    return access, refresh


def revoke_key_tokens(kid: str) -> int:
    """A signing key is being deleted: revoke the live access tokens it signed (they fail everywhere
    within the bound, not only once each process reloads its keys)."""
    if not kid:
        return 0
    return revoke_access_tokens(AccessToken.objects.filter(kid=kid))


def user_deactivated(user: Any, *, source: str) -> tuple[int, int] | None:
    """A save is turning ``user`` inactive: claim it, revoke the user's tokens, record one event.

    Claimed in the database like ``clients.lifecycle.deactivate_client``: only the save whose
    conditional UPDATE turned ``is_active`` off revokes and audits; None for everyone else.
    """
    manager = type(user)._default_manager
    with transaction.atomic():
        if not manager.filter(pk=user.pk, is_active=True).update(is_active=False):
            return None
        access, refresh = revoke_user_tokens(user)
        audit.record(audit.USER_DEACTIVATED, user=user, source=source,
                     access_tokens_revoked=access, refresh_tokens_revoked=refresh)
    return access, refresh
