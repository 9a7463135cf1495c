"""What clients send that may be used once: pushed authorization requests (RFC 9126) and the ``jti``
of client assertions (RFC 7523 §3). Both are single use by a database constraint or a conditional
update, so every process agrees without a lock.
"""

from __future__ import annotations

from django.db import models

from oauth_provider.models.clients import Application


class PushedAuthorizationRequest(models.Model):
    """Authorization request parameters a client pushed (RFC 9126 §2), found by the digest of their
    ``request_uri`` (the URI itself is a 256-bit secret that exists only in the push response).

    Lifecycle: pushed, then claimed by the first browser that arrives with it (``claimed_at``; the
    browser keeps the claim secret whose digest is ``claim_digest``), then used by the user's decision
    (``used_at``). Each step is one conditional UPDATE, so concurrent arrivals or decisions have one winner.
    """

    request_uri_digest = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="pushed_requests")
    parameters = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    claim_digest = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "pushed authorization request"

    def __str__(self) -> str:
        return f"pushed request #{self.pk} for {self.application_id}"


class ClientAssertionJti(models.Model):
    """The ``jti`` of a client assertion already accepted (RFC 7523 §3 item 7), kept until the
    assertion expires; the unique constraint refuses a second use by any process."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    # SHA-256 of the jti: fixed width whatever the client sent.
    jti_digest = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "used client assertion"
        constraints = [
            models.UniqueConstraint(fields=["application", "jti_digest"], name="oauth_assertion_jti_once")
        ]

    def __str__(self) -> str:
        return f"client assertion jti of {self.application_id}"
