"""The resource owner password credentials grant (RFC 6749 §4.3): a legacy opt-in.

Only clients whose ``grant_types`` include ``password`` may use it (``Grant.check_client``), and a
deploy check warns about each. Guessing is limited per username through Django's cache.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction

from oauth_provider import audit
from oauth_provider.errors import InvalidGrant
from oauth_provider.grants.base import Grant
from oauth_provider.models import GrantType
from oauth_provider.ratelimit import RateLimitExceeded, password_failures_per_username


class PasswordGrant(Grant):
    grant_type = GrantType.PASSWORD

    def issue(self) -> dict[str, Any]:
        username = self.request.require("username")
        password = self.request.require("password")
        failures = password_failures_per_username()
        identity = username.casefold()
        try:
            # docs/SECURITY.md S23: answered before checking the password, so guessing learns nothing more.
            failures.check(identity)
        except RateLimitExceeded as exc:
            raise InvalidGrant(
                "Too many failed attempts for this user; try again later.",
                status_code=429,
                headers={"Retry-After": str(exc.retry_after)},
            ) from exc
        user = authenticate(None, username=username, password=password)
        if user is None:
            failures.count(identity)
            audit.record(audit.PASSWORD_GRANT_FAILED, context=self.request.context, application=self.client)
            raise InvalidGrant("The username or password is wrong.")
        failures.reset(identity)
        scope = self.requested_scope()
        target = self.target(scope, None)
        with transaction.atomic():
            return self.issue_tokens(scope=scope, user=user, with_refresh=self.may_refresh(), target=target)
