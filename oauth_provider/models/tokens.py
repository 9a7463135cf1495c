"""Access tokens (recorded by jti, never by value) and refresh tokens with their families."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from oauth_provider.models.clients import Application
from oauth_provider.models.codes import AuthorizationCode


class RefreshToken(models.Model):
    """An opaque refresh token, stored as a digest; rotated on every use (RFC 9700 §4.14.2).

    Tokens rotated from one another share a ``family_id``; presenting a used one revokes the family.
    """

    token_digest = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="refresh_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    scope = models.TextField(blank=True)
    family_id = models.UUIDField(db_index=True)
    # RFC 8707: the resources of the grant; every rotation keeps them, a refresh may pick one.
    resources = models.JSONField(default=list, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    authorization_code = models.ForeignKey(
        AuthorizationCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="refresh_tokens"
    )
    # OpenID Connect: carried across rotations, so a refreshed ID Token has the original auth_time
    # and claims request (Core §12.2).
    auth_time = models.DateTimeField(null=True, blank=True)
    claims = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Idle expiry of this token, and the absolute expiry of its whole family.
    expires_at = models.DateTimeField(db_index=True)
    family_expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # RFC 9449 §5: the JWK thumbprint a public client's refresh token is bound to ("" when not bound).
    dpop_jkt = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "refresh token"

    def __str__(self) -> str:
        return f"refresh token #{self.pk} ({self.application_id})"


class AccessToken(models.Model):
    """The record of an issued JWT access token (RFC 9068), keyed by its ``jti`` claim."""

    jti = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="access_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    grant_type = models.CharField(max_length=64)
    scope = models.TextField(blank=True)
    audience = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The kid of the key that signed it: deleting that key revokes exactly its tokens (tokens.revocation).
    kid = models.CharField(max_length=64, blank=True, default="")
    refresh_token = models.ForeignKey(
        RefreshToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="access_tokens"
    )
    authorization_code = models.ForeignKey(
        AuthorizationCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="access_tokens"
    )
    # RFC 9449 §6: the cnf.jkt of a DPoP-bound token ("" for a bearer token).
    dpop_jkt = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "access token"
        indexes = [models.Index(fields=["application", "created_at"], name="oauth_at_app_created")]

    def __str__(self) -> str:
        return f"access token {self.jti}"


class RevokedAccessToken(models.Model):
    """The store of record of revoked access tokens that have not expired yet (tokens.revocation).

    One row per revoked ``jti``, with no foreign key: deleting the token's row, its client or its user
    never makes a revoked token valid again. Resource servers of this project keep the unexpired
    rows in memory and read only the rows revoked since their last read (the ``revoked_at`` index);
    ``oauth_cleanup`` deletes rows once the token has expired.
    """

    jti = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "revoked access token"

    def __str__(self) -> str:
        return f"revoked access token {self.jti}"
