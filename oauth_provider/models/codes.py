"""Short-lived grants a user approves: authorization codes and device codes."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from oauth_provider.models.clients import Application


class AuthorizationCode(models.Model):
    """An authorization code (RFC 6749 §4.1.2), stored as a digest, redeemed at most once."""

    code_digest = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="authorization_codes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The redirect_uri of the authorization request, or "" when the request sent none.
    redirect_uri = models.TextField(blank=True)
    scope = models.TextField(blank=True)
    code_challenge = models.CharField(max_length=128, blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)
    # RFC 9449 §10: the JWK thumbprint the authorization request bound the code to ("" when none).
    dpop_jkt = models.CharField(max_length=64, blank=True)
    # OpenID Connect Core §3.1.2.1: echoed in the ID Token exactly as sent ("" when none was sent).
    nonce = models.TextField(blank=True)
    # When the user last authenticated (Core §2 auth_time); None for a session without the record.
    auth_time = models.DateTimeField(null=True, blank=True)
    # The claims request parameter (Core §5.5), as validated: {"userinfo": {...}, "id_token": {...}}.
    claims = models.JSONField(default=dict, blank=True)
    # RFC 8707: the resource indicators of the authorization request (absolute URIs).
    resources = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "authorization code"

    def __str__(self) -> str:
        return f"code #{self.pk} for {self.application_id}"


class DeviceCodeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    CONSUMED = "consumed", "Consumed"
    EXPIRED = "expired", "Expired"


class DeviceCode(models.Model):
    """A device authorization (RFC 8628): the device polls with its code, a user enters the user code."""

    device_code_digest = models.CharField(max_length=64, unique=True)
    # Normalised: upper case, no separator (e.g. "BCDFGHJK"); shown as "BCDF-GHJK".
    user_code = models.CharField(max_length=16, unique=True)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="device_codes")
    scope = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=DeviceCodeStatus.choices, default=DeviceCodeStatus.PENDING)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    interval = models.PositiveSmallIntegerField(default=5)
    # RFC 8707: the resource indicators of the device authorization request.
    resources = models.JSONField(default=list, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "device code"

    def __str__(self) -> str:
        # Not the user code: the admin and logs show this string (docs/SECURITY.md S21).
        return f"device code #{self.pk} for {self.application_id} ({self.status})"
