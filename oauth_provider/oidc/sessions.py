"""The time the user logged in (OpenID Connect Core §2 ``auth_time``), kept in the Django session.

``record_login`` runs on Django's ``user_logged_in`` signal (connected in ``receivers.py``), so
every login path (the admin, allauth, ``force_login`` in tests, a custom view) records it.
"""

from __future__ import annotations

import time
from typing import Any

from django.core import signing

AUTH_TIME_SESSION_KEY = "_oauth_provider_auth_time"

# When the authorization endpoint sends the user to log in again (prompt=login, max_age), it adds a
# signed "login asked at" time to the URL the user comes back to: a login after that time satisfies
# the request, even max_age=0 (without it the same request would ask again for ever). The parameter
# is the server's own, so it never reaches the client.
LOGIN_MARKER_PARAMETER = "oauth_provider_login"
_MARKER_SALT = "oauth_provider.oidc.login-asked"
MARKER_MAX_AGE = 900


def record_login(sender: Any = None, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        # Sub-second precision, so a login is told apart from a request in the same second.
        session[AUTH_TIME_SESSION_KEY] = time.time()


def login_time(request: Any) -> float | None:
    """When this session's user authenticated (seconds since the epoch), or None when unknown."""
    session = getattr(request, "session", None)
    value = session.get(AUTH_TIME_SESSION_KEY) if session is not None else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def auth_time(request: Any) -> int | None:
    """The ``auth_time`` claim (whole seconds, Core §2) of this session's login, or None when unknown."""
    when = login_time(request)
    return int(when) if when is not None else None


def login_marker(now: float | None = None) -> str:
    """A signed "login asked now" value for ``LOGIN_MARKER_PARAMETER``."""
    return signing.dumps(now if now is not None else time.time(), salt=_MARKER_SALT, compress=False)


def login_asked_at(marker: str | None) -> float | None:
    """The time in a valid, recent marker; None for a missing, forged or stale one."""
    if not marker:
        return None
    try:
        value = signing.loads(marker, salt=_MARKER_SALT, max_age=MARKER_MAX_AGE)
    except (signing.BadSignature, ValueError):
        return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def logged_in_since(request: Any, marker: str | None) -> bool:
    """The user logged in after the authorization endpoint asked for it (the marker's time)."""
    asked = login_asked_at(marker)
    when = login_time(request)
    return asked is not None and when is not None and when > asked


def login_is_fresh(request: Any, max_age: int | None, *, marker: str | None = None, now: float | None = None) -> bool:
    """Core §3.1.2.1: with ``max_age``, a login older than that many seconds must be repeated.

    ``max_age=0`` asks again unless the user logged in after this very request asked (the marker);
    an unknown login time is too old.
    """
    if max_age is None:
        return True
    if logged_in_since(request, marker):
        return True
    when = login_time(request)
    if when is None or max_age == 0:
        return False
    return (now if now is not None else time.time()) - when <= max_age
