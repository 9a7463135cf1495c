"""Signals for integrators, sent by ``audit.record`` — one mechanism: every audited event is also a signal.

Each receiver gets ``event`` (the audit event name), ``application`` (or None), ``client_id``, ``user``
(or None), ``context`` (an ``http.RequestContext``: IP and user agent) and ``details`` (the audit
details: identifiers, never a secret or token). Signals are sent whether or not ``AUDIT_ENABLED``
writes rows, inside the caller's transaction: a receiver that talks to the outside world should
use ``transaction.on_commit``. A receiver that raises is logged and never breaks the request.

    from oauth_provider.signals import token_issued

    @receiver(token_issued)
    def count_token(sender, *, event, application, user, details, **kwargs): ...
"""

from django.dispatch import Signal

# Every audited event.
event_recorded = Signal()
# An access token was issued (client credentials, code redemption, refresh, password, implicit, device).
token_issued = Signal()
# Tokens were revoked (by an operator in the admin, by a client at the revocation endpoint, ...).
token_revoked = Signal()
consent_granted = Signal()
consent_denied = Signal()
client_authentication_failed = Signal()
# A rotated refresh token was presented again; its family has been revoked.
refresh_token_reused = Signal()
