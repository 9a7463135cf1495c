"""``record(event, ...)``: the one way to write the audit trail, and the event names.

Details must never contain a secret, code or token; callers pass identifiers only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .conf import oauth_settings
from .models import AuditEvent

logger = logging.getLogger("oauth_provider.audit")

TOKEN_ISSUED = "token_issued"
CLIENT_AUTH_FAILED = "client_auth_failed"
CLIENT_CREATED = "client_created"
CLIENT_SECRET_ROTATED = "client_secret_rotated"
SIGNING_KEY_CREATED = "signing_key_created"
SIGNING_KEY_ROTATED = "signing_key_rotated"
CONSENT_GRANTED = "consent_granted"
CONSENT_DENIED = "consent_denied"
CONSENT_REVOKED = "consent_revoked"
CODE_ISSUED = "authorization_code_issued"
CODE_REDEEMED = "authorization_code_redeemed"
CODE_REPLAYED = "authorization_code_replayed"
REFRESH_TOKEN_ROTATED = "refresh_token_rotated"
REFRESH_TOKEN_REUSED = "refresh_token_reused"
PASSWORD_GRANT_FAILED = "password_grant_failed"
DEVICE_CODE_ISSUED = "device_code_issued"
DEVICE_CODE_APPROVED = "device_code_approved"
DEVICE_CODE_DENIED = "device_code_denied"
DEVICE_USER_CODE_RATE_LIMITED = "device_user_code_rate_limited"
TOKEN_REVOKED = "token_revoked"
CLIENT_REGISTERED = "client_registered"
CLIENT_CONFIGURATION_READ = "client_configuration_read"
CLIENT_UPDATED = "client_updated"
CLIENT_DELETED = "client_deleted"
REGISTRATION_REFUSED = "client_registration_refused"
INITIAL_ACCESS_TOKEN_CREATED = "initial_access_token_created"
SIGNING_KEY_DELETED = "signing_key_deleted"
CLEANUP_RUN = "cleanup_run"


@dataclass(frozen=True)
class RequestContext:
    """Where a request came from, as the protocol code and the audit trail need it."""

    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: Any) -> RequestContext:
        meta = request.META
        return cls(ip_address=meta.get("REMOTE_ADDR") or None, user_agent=meta.get("HTTP_USER_AGENT", "")[:255])


NO_CONTEXT = RequestContext()


def record(
    event: str,
    *,
    context: RequestContext = NO_CONTEXT,
    application: Any = None,
    client_id: str = "",
    user: Any = None,
    **details: Any,
) -> None:
    """Write one AuditEvent row (and a log line) unless auditing is turned off."""
    if application is not None and not client_id:
        client_id = application.client_id
    logger.info("%s client_id=%s", event, client_id)
    if not oauth_settings.AUDIT_ENABLED:
        return
    AuditEvent.objects.create(
        event=event,
        application=application,
        client_id=client_id[:100],
        user=user if getattr(user, "is_authenticated", False) else None,
        ip_address=context.ip_address,
        user_agent=context.user_agent,
        details=details,
    )
