"""The device code grant at the token endpoint (RFC 8628 §3.4, §3.5).

The device polls with its device code. While the user has not decided it hears
``authorization_pending``, or ``slow_down`` when it polls sooner than its interval (which then grows
by 5 seconds, stored on the code); after a denial ``access_denied``; after expiry ``expired_token``.
Once approved, the first poll consumes the code and gets the tokens; every later one ``invalid_grant``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Least
from django.utils import timezone

from oauth_provider import crypto
from oauth_provider.errors import AccessDenied, AuthorizationPending, ExpiredToken, InvalidGrant, SlowDown
from oauth_provider.grants.base import Grant
from oauth_provider.models import DeviceCode, DeviceCodeStatus, GrantType
from oauth_provider.scopes import parse_scope

# One message for unknown, used and other clients' codes: the client learns nothing about which.
INVALID_DEVICE_CODE = "The device code is invalid, already used or was issued to another client."
# RFC 8628 §3.5: "the interval MUST be increased by 5 seconds for this and all subsequent requests".
SLOW_DOWN_STEP = 5
# An upper bound, so a client that never stops hammering cannot overflow the column.
MAX_INTERVAL = 3600


class DeviceCodeGrant(Grant):
    grant_type = GrantType.DEVICE_CODE

    def issue(self) -> dict[str, Any]:
        digest = crypto.digest(self.request.require("device_code"))
        code = DeviceCode.objects.select_related("user").filter(device_code_digest=digest).first()
        # RFC 8628 §3.4: the code must have been issued to the authenticated client.
        if code is None or code.application_id != self.client.pk:
            raise InvalidGrant(INVALID_DEVICE_CODE)
        if code.status == DeviceCodeStatus.CONSUMED:
            raise InvalidGrant(INVALID_DEVICE_CODE)
        if code.status == DeviceCodeStatus.DENIED:
            raise AccessDenied("The user denied the authorization request.")
        now = timezone.now()
        if code.status == DeviceCodeStatus.EXPIRED or code.expires_at <= now:
            self._expire(code)
        if code.status == DeviceCodeStatus.PENDING:
            self._still_pending(code, now)
        return self._redeem(code)

    def _expire(self, code: DeviceCode) -> None:
        """RFC 8628 §3.5 ``expired_token``; the row is marked so the admin shows what happened."""
        live = (DeviceCodeStatus.PENDING, DeviceCodeStatus.APPROVED)
        DeviceCode.objects.filter(pk=code.pk, status__in=live).update(status=DeviceCodeStatus.EXPIRED)
        raise ExpiredToken("The device code has expired; start a new device authorization.")

    def _still_pending(self, code: DeviceCode, now) -> None:
        """``authorization_pending``, or ``slow_down`` when polled sooner than the interval (§3.5).

        The poll time is recorded with a conditional update on the value read: when two polls race,
        only one records itself and the other is, rightly, told to slow down.
        """
        too_soon = code.last_polled_at is not None and now < code.last_polled_at + timedelta(seconds=code.interval)
        if not too_soon:
            recorded = DeviceCode.objects.filter(pk=code.pk, last_polled_at=code.last_polled_at).update(
                last_polled_at=now
            )
            if recorded:
                raise AuthorizationPending("The user has not yet approved the request.")
        DeviceCode.objects.filter(pk=code.pk).update(
            last_polled_at=now, interval=Least(F("interval") + SLOW_DOWN_STEP, Value(MAX_INTERVAL))
        )
        interval = min(code.interval + SLOW_DOWN_STEP, MAX_INTERVAL)
        raise SlowDown(f"Polling too fast: wait at least {interval} seconds between requests.")

    def _redeem(self, code: DeviceCode) -> dict[str, Any]:
        """Tokens exactly once: of concurrent polls only one moves the code from approved to consumed."""
        if code.user is None or not code.user.is_active:
            raise InvalidGrant(INVALID_DEVICE_CODE)
        scope = parse_scope(code.scope)
        target = self.target(scope, list(code.resources))  # before the code is consumed
        with transaction.atomic():
            approved = DeviceCode.objects.filter(pk=code.pk, status=DeviceCodeStatus.APPROVED)
            won = approved.update(status=DeviceCodeStatus.CONSUMED)
            if won:
                body = self.issue_tokens(
                    scope=scope, user=code.user, with_refresh=self.may_refresh(), device_code_id=code.pk,
                    granted_resources=list(code.resources), target=target,
                )
        if not won:
            raise InvalidGrant(INVALID_DEVICE_CODE)
        return body
