"""``record(event, ...)``: the one way to write the audit trail, and the event names.

Details must never contain a secret, code or token; callers pass identifiers only.
"""

from __future__ import annotations

import logging
from typing import Any

from oauth_provider import signals
from oauth_provider.conf import oauth_settings
from oauth_provider.http import NO_CONTEXT, RequestContext
from oauth_provider.models import AuditEvent

logger = logging.getLogger("oauth_provider.audit")

TOKEN_ISSUED = "token_issued"
CLIENT_AUTH_FAILED = "client_auth_failed"
CLIENT_CREATED = "client_created"
CLIENT_SECRET_ROTATED = "client_secret_rotated"
CLIENT_DEACTIVATED = "client_deactivated"
CLIENT_REACTIVATED = "client_reactivated"
TOKENS_REVOKED_BY_ADMIN = "tokens_revoked_by_admin"
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
# A rate limit was reached (docs/SECURITY.md S27): once per limit, identity and window, not per refused request.
RATE_LIMIT_REACHED = "rate_limit_reached"
TOKEN_REVOKED = "token_revoked"
CLIENT_REGISTERED = "client_registered"
CLIENT_CONFIGURATION_READ = "client_configuration_read"
CLIENT_UPDATED = "client_updated"
CLIENT_DELETED = "client_deleted"
REGISTRATION_REFUSED = "client_registration_refused"
INITIAL_ACCESS_TOKEN_CREATED = "initial_access_token_created"
SIGNING_KEY_DELETED = "signing_key_deleted"
USER_DEACTIVATED = "user_deactivated"
CLEANUP_RUN = "cleanup_run"
USER_LOGGED_OUT = "user_logged_out"  # RP-Initiated Logout 1.0


# Events that issue exactly one access token each, and the grant they stand for when their
# details carry no ``grant_type`` (the dashboard and the client list count tokens from these).
TOKEN_ISSUING_EVENTS: dict[str, str] = {
    TOKEN_ISSUED: "",
    CODE_REDEEMED: "authorization_code",
    REFRESH_TOKEN_ROTATED: "refresh_token",
}




def record(
    event: str,
    *,
    context: RequestContext = NO_CONTEXT,
    application: Any = None,
    client_id: str = "",
    user: Any = None,
    **details: Any,
) -> None:
    """Write one AuditEvent row (and a log line) unless auditing is turned off, then send the signals."""
    if application is not None and not client_id:
        client_id = application.client_id
    # %r escapes what the client sent (a newline in a client_id cannot forge a log line).
    logger.info("%s client_id=%r", event, client_id)
    user = user if getattr(user, "is_authenticated", False) else None
    if oauth_settings.AUDIT_ENABLED:
        AuditEvent.objects.create(
            event=event,
            application=application,
            client_id=client_id[:100],
            user=user,
            ip_address=context.ip_address,
            user_agent=context.user_agent,
            details=details,
        )
    _send_signals(event, application=application, client_id=client_id, user=user, context=context, details=details)


def _event_signals(event: str) -> list:
    named = {
        CLIENT_AUTH_FAILED: signals.client_authentication_failed,
        CONSENT_GRANTED: signals.consent_granted,
        CONSENT_DENIED: signals.consent_denied,
        REFRESH_TOKEN_REUSED: signals.refresh_token_reused,
        TOKENS_REVOKED_BY_ADMIN: signals.token_revoked,
    }
    found = [signals.event_recorded]
    if event in TOKEN_ISSUING_EVENTS:
        found.append(signals.token_issued)
    if event in named:
        found.append(named[event])
    return found


def _send_signals(event: str, **kwargs: Any) -> None:
    from oauth_provider.models import AuditEvent

    for signal in _event_signals(event):
        for receiver, result in signal.send_robust(sender=AuditEvent, event=event, **kwargs):
            if isinstance(result, Exception):
                logger.error("receiver %r of %s failed", receiver, event, exc_info=result)
