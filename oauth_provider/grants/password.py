"""The resource owner password credentials grant (RFC 6749 §4.3): a legacy opt-in.

Only clients whose ``grant_types`` include ``password`` may use it (``Grant.check_client``), and a
deploy check warns about each. Guessing is limited per username and per address through Django's
cache (docs/SECURITY.md S27).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction

from oauth_provider import audit
from oauth_provider.errors import InvalidGrant
from oauth_provider.grants.base import Grant
from oauth_provider.models import GrantType
from oauth_provider.ratelimit import password_failures


class PasswordGrant(Grant):
    grant_type = GrantType.PASSWORD

    def issue(self) -> dict[str, Any]:
        username = self.request.require("username")
        password = self.request.require("password")
        context = self.request.context
        # docs/SECURITY.md S27: counted before the password is checked (parallel guesses cannot all pass
        # the check), per username and per address; over a limit the answer comes before the check,
        # so guessing learns nothing more (S23). A success is not counted.
        with password_failures().attempt(
            username.casefold(), context, failure=InvalidGrant, refusal=_too_many_failures,
            client_id=self.client.client_id,
        ):
            user = authenticate(None, username=username, password=password)
            if user is None:
                audit.record(audit.PASSWORD_GRANT_FAILED, context=context, application=self.client)
                raise InvalidGrant("The username or password is wrong.")
        scope = self.requested_scope()
        target = self.target(scope, None)
        with transaction.atomic():
            return self.issue_tokens(scope=scope, user=user, with_refresh=self.may_refresh(), target=target)


def _too_many_failures(retry_after: int) -> InvalidGrant:
    return InvalidGrant(
        "Too many failed attempts for this user; try again later.",
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )
