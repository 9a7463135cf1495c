"""Signing keys for access tokens, private halves encrypted at rest."""

from __future__ import annotations

from django.db import models


class KeyState(models.TextChoices):
    NEXT = "next", "Next (published, not yet signing)"
    ACTIVE = "active", "Active (signing)"
    RETIRED = "retired", "Retired (published until its tokens expire)"


class SigningKey(models.Model):
    """A JWS key pair. States: next → active → retired; next and active and retired keys are
    published in the JWKS so that rotation never breaks a verifier."""

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=10)
    state = models.CharField(max_length=10, choices=KeyState.choices, default=KeyState.NEXT, db_index=True)
    public_jwk = models.JSONField()
    private_key_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "signing key"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["algorithm"],
                condition=models.Q(state="active"),
                name="oauth_one_active_key_per_algorithm",
            )
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.kid} ({self.state})"
