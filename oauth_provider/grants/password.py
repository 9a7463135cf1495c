"""The resource owner password credentials grant (RFC 6749 §4.3): a legacy opt-in.

Only clients whose ``grant_types`` include ``password`` may use it (``Grant.check_client``), and a
deploy check warns about each. Guessing is limited per username through Django's cache.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.core.cache import caches
from django.db import transaction

from .. import audit, crypto
from ..conf import oauth_settings
from ..errors import InvalidGrant
from ..models import GrantType
from .base import Grant

FAILURES_PREFIX = "oauth_provider:password-failures:"


def _failures_key(username: str) -> str:
    # Digest: usernames may hold characters a cache backend refuses in keys.
    return FAILURES_PREFIX + crypto.digest(username.casefold())


class PasswordGrant(Grant):
    grant_type = GrantType.PASSWORD

    def issue(self) -> dict[str, Any]:
        username = self.request.require("username")
        password = self.request.require("password")
        cache = caches[oauth_settings.RATE_LIMIT_CACHE]
        key = _failures_key(username)
        window = oauth_settings.PASSWORD_GRANT_FAILURE_WINDOW
        if (cache.get(key) or 0) >= oauth_settings.PASSWORD_GRANT_MAX_FAILURES:
            # SECURITY.md 23: answered before checking the password, so guessing learns nothing more.
            raise InvalidGrant(
                "Too many failed attempts for this user; try again later.",
                status_code=429,
                headers={"Retry-After": str(window)},
            )
        user = authenticate(None, username=username, password=password)
        if user is None:
            if not cache.add(key, 1, timeout=window):
                try:
                    cache.incr(key)
                except ValueError:
                    cache.set(key, 1, timeout=window)
            audit.record(audit.PASSWORD_GRANT_FAILED, context=self.request.context, application=self.client)
            raise InvalidGrant("The username or password is wrong.")
        cache.delete(key)
        scope = self.requested_scope()
        with transaction.atomic():
            return self.issue_tokens(scope=scope, user=user, with_refresh=self.may_refresh())
