"""The device authorization grant's server side (RFC 8628): issuing device and user codes, finding a
code a user typed, and recording the user's decision. The token-endpoint side is
``grants/device_code.py``.

The device code is a 256-bit secret kept only as a digest; the user code is short enough to type
(8 letters from a 20-consonant alphabet, about 34.6 bits, §6.1), so wrong entries are rate-limited
per user and per source address (§5.1, docs/SECURITY.md S18). Device authorizations of public
clients, which anyone can request, have a per-address budget (docs/SECURITY.md S27).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.utils import timezone

from oauth_provider import audit, crypto, http, ratelimit
from oauth_provider.clients.authentication import DEVICE_AUTHORIZATION, authenticate_request
from oauth_provider.clients.resources import validate_resources
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidRequest, ServerError, UnauthorizedClient
from oauth_provider.http import endpoint_url
from oauth_provider.models import Application, DeviceCode, DeviceCodeStatus, GrantType
from oauth_provider.scopes import requested_scope, scope_string

# RFC 8628 §6.1: no vowels (no words), no digits (no 0/O or 1/I confusion); case does not matter.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
# Characters people type between the halves, or that keyboards and copy-paste add; ignored on entry.
USER_CODE_SEPARATORS = str.maketrans("", "", "- \u00a0\u2010\u2011\u2012\u2013\u2014")
# A fresh user code collides with a stored one about once in 2.5e10 tries; retry a few times.
USER_CODE_ATTEMPTS = 5

DEVICE_GRANT = GrantType.DEVICE_CODE


# --- user codes (RFC 8628 §6.1) ---------------------------------------------------------------


def generate_user_code() -> str:
    """Eight letters drawn uniformly from ``USER_CODE_ALPHABET`` with ``secrets``."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def normalise_user_code(entered: str) -> str | None:
    """The stored form of what a user typed (upper case, no separators), or None if it cannot be a code."""
    candidate = (entered or "")[:64].translate(USER_CODE_SEPARATORS).upper()
    if len(candidate) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in candidate):
        return None
    return candidate


def format_user_code(user_code: str) -> str:
    """How a user code is shown: two halves joined by a dash, e.g. ``BCDF-GHJK``."""
    half = len(user_code) // 2
    return f"{user_code[:half]}-{user_code[half:]}"


# --- the device authorization endpoint (RFC 8628 §3.1, §3.2) ---------------------------------


@dataclass(frozen=True)
class DeviceAuthorization:
    """A freshly issued device authorization; ``device_code`` exists only here, never at rest."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int

    def response_body(self) -> dict[str, Any]:
        """The device authorization response (RFC 8628 §3.2)."""
        shown = format_user_code(self.user_code)
        return {
            "device_code": self.device_code,
            "user_code": shown,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": f"{self.verification_uri}?{urlencode({'user_code': shown})}",
            "expires_in": self.expires_in,
            "interval": self.interval,
        }


def device_grant_enabled() -> bool:
    return DEVICE_GRANT in oauth_settings.GRANT_TYPES


def verification_uri() -> str:
    uri = endpoint_url("device_verify")
    if uri is None:
        raise ServerError("The device verification page is not routed.")
    return uri


def authorize_device(
    params: Mapping[str, str],
    *,
    resources: list[str] | None = None,
    authorization: str = "",
    context: http.RequestContext = http.NO_CONTEXT,
) -> DeviceAuthorization:
    """Authenticate the client (RFC 8628 §3.1: as at the token endpoint) and issue a device code."""
    client = authenticate_request(authorization, params, endpoint=DEVICE_AUTHORIZATION, context=context)
    if not device_grant_enabled():
        raise UnauthorizedClient("The device authorization grant is not enabled on this server.")
    if not client.allows_grant(DEVICE_GRANT):
        raise UnauthorizedClient("This client is not allowed the device authorization grant.")
    scope = requested_scope(client, params.get("scope"))
    if not client.is_confidential:
        # Anyone may name a public client: the rows it creates have a per-address budget (S27).
        ratelimit.limit_per_address(ratelimit.public_device_authorizations(), context, application=client)
    named = validate_resources(list(resources or []))  # RFC 8707: the grant is for these
    return issue_device_code(client, scope, resources=named, context=context)


def issue_device_code(
    client: Application,
    scope: list[str],
    *,
    resources: list[str] | None = None,
    context: http.RequestContext = http.NO_CONTEXT,
) -> DeviceAuthorization:
    """Store a new pending device code (digest only) with a user code unique among stored codes."""
    device_code = crypto.generate_secret()
    lifetime = oauth_settings.DEVICE_CODE_LIFETIME
    interval = oauth_settings.DEVICE_CODE_INTERVAL
    for _attempt in range(USER_CODE_ATTEMPTS):
        user_code = generate_user_code()
        try:
            with transaction.atomic():
                record = DeviceCode.objects.create(
                    device_code_digest=crypto.digest(device_code),
                    user_code=user_code,
                    application=client,
                    scope=scope_string(scope),
                    resources=list(resources or []),
                    interval=interval,
                    expires_at=timezone.now() + timedelta(seconds=lifetime),
                )
        except IntegrityError:
            continue
        break
    else:
        raise ServerError("Could not allocate a unique user code.")
    audit.record(
        audit.DEVICE_CODE_ISSUED, context=context, application=client, device_code_id=record.pk, scope=record.scope
    )
    return DeviceAuthorization(
        device_code=device_code,
        user_code=user_code,
        verification_uri=verification_uri(),
        expires_in=lifetime,
        interval=interval,
    )


# --- the verification page (RFC 8628 §3.3, §5.1, §5.4) ---------------------------------------


class UserCodeError(InvalidRequest):
    """A user code that cannot be decided on; ``message`` is for the user, ``reason`` for code and tests.

    An OAuthError like every other: the verification page shows its ``message`` on the entry form,
    with its status (429 and ``Retry-After`` when rate-limited).
    """

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    RATE_LIMITED = "rate_limited"

    MESSAGES = {
        UNKNOWN: "That code is not valid. Check the code shown on your device and try again.",
        EXPIRED: "That code has expired. Start again on your device to get a new code.",
        USED: "That code has already been used. Start again on your device if you need a new code.",
        RATE_LIMITED: "Too many wrong codes. Wait a while before trying again.",
    }
    STATUS = {UNKNOWN: 400, EXPIRED: 400, USED: 400, RATE_LIMITED: 429}

    def __init__(self, reason: str, *, retry_after: int | None = None) -> None:
        self.reason = reason
        self.retry_after = retry_after
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        super().__init__(self.MESSAGES[reason], status_code=self.STATUS[reason], headers=headers)

    @property
    def message(self) -> str:
        return self.description


def find_device_code(entered: str, *, user: Any, context: http.RequestContext = http.NO_CONTEXT) -> DeviceCode:
    """The pending device authorization a user's typed code names (RFC 8628 §3.3), or UserCodeError.

    Each entry is counted against the signed-in user and the source address before the code is
    looked up (§5.1; docs/SECURITY.md S18, S27); at a limit every entry is refused, right or wrong,
    so guessing learns nothing more. Unknown and garbled entries count as failures; a code that
    exists is not counted but resets nothing: anyone can obtain a right code by asking for one.
    """
    with ratelimit.device_user_code_failures().attempt(
        str(user.pk), context, failure=UserCodeError, refusal=_rate_limited, user=user
    ):
        user_code = normalise_user_code(entered)
        code = None
        if user_code is not None:
            code = DeviceCode.objects.select_related("application").filter(user_code=user_code).first()
        if code is None:
            raise UserCodeError(UserCodeError.UNKNOWN)
    _check_decidable(code)
    return code


def _rate_limited(retry_after: int) -> UserCodeError:
    return UserCodeError(UserCodeError.RATE_LIMITED, retry_after=retry_after)


def _check_decidable(code: DeviceCode) -> None:
    if code.status in (DeviceCodeStatus.APPROVED, DeviceCodeStatus.DENIED, DeviceCodeStatus.CONSUMED):
        raise UserCodeError(UserCodeError.USED)
    if code.status == DeviceCodeStatus.EXPIRED or code.expires_at <= timezone.now():
        raise UserCodeError(UserCodeError.EXPIRED)
    if not code.application.is_active:
        raise UserCodeError(UserCodeError.UNKNOWN)


def decide_device_code(
    user_code: str, *, user: Any, approved: bool, context: http.RequestContext = http.NO_CONTEXT
) -> DeviceCode:
    """Record the signed-in user's approval or denial of a pending code (RFC 8628 §3.3).

    A conditional update: of two decisions racing for one code only the first changes it, and an
    expired or decided code never changes.
    """
    now = timezone.now()
    status = DeviceCodeStatus.APPROVED if approved else DeviceCodeStatus.DENIED
    with transaction.atomic():
        changed = DeviceCode.objects.filter(
            user_code=user_code, status=DeviceCodeStatus.PENDING, expires_at__gt=now, application__is_active=True
        ).update(status=status, user=user, decided_at=now)
        code = DeviceCode.objects.select_related("application").filter(user_code=user_code).first()
        if code is None:
            raise UserCodeError(UserCodeError.UNKNOWN)
        if not changed:
            _check_decidable(code)
            raise UserCodeError(UserCodeError.USED)
        audit.record(
            audit.DEVICE_CODE_APPROVED if approved else audit.DEVICE_CODE_DENIED,
            context=context,
            application=code.application,
            user=user,
            device_code_id=code.pk,
            scope=code.scope,
        )
    return code
