"""The resource owner password credentials grant (RFC 6749 §4.3): a legacy opt-in.

Only clients whose ``grant_types`` include ``password`` may use it (``Grant.check_client``), and a
deploy check warns about each. Guessing is limited per username through Django's cache.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction

from .. import audit
from ..errors import InvalidGrant
from ..models import GrantType
from ..ratelimit import RateLimitExceeded, password_failures_per_username
from ..tokens import issue_access_token, issue_refresh_token, token_response_body
from .authorization_code import refresh_tokens_enabled_for
from .base import Grant


class PasswordGrant(Grant):
    grant_type = GrantType.PASSWORD

    def issue(self) -> dict[str, Any]:
        username = self.request.require("username")
        password = self.request.require("password")
        failures = password_failures_per_username()
        identity = username.casefold()
        try:
            # SECURITY.md 23: answered before checking the password, so guessing learns nothing more.
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
        with transaction.atomic():
            refresh = None
            if refresh_tokens_enabled_for(self.client):
                refresh = issue_refresh_token(application=self.client, user=user, scope=scope)
            access = issue_access_token(
                application=self.client,
                scope=scope,
                grant_type=self.grant_type,
                user=user,
                refresh_token=refresh.record if refresh else None,
            )
            audit.record(
                audit.TOKEN_ISSUED,
                context=self.request.context,
                application=self.client,
                user=user,
                grant_type=self.grant_type,
                jti=access.record.jti,
                scope=access.record.scope,
            )
        return token_response_body(access, refresh_token=refresh.token if refresh else None, scope=scope)
