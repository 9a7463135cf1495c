"""Initial access tokens: what an admin hands out to allow dynamic client registration (RFC 7591 §3)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from oauth_provider import crypto


class InitialAccessToken(models.Model):
    """A bearer token for the registration endpoint, stored as a digest; usable ``max_uses`` times."""

    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    description = models.CharField(max_length=255, blank=True, help_text="Who it was given to, and why.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = "initial access token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"initial access token #{self.pk} ({self.description or 'no description'})"

    def save(self, *args, **kwargs) -> None:
        if not crypto.is_digest(self.token_digest):
            raise ValueError("token_digest must be a SHA-256 digest; use generate_token()")
        super().save(*args, **kwargs)

    def generate_token(self) -> str:
        """Give the row a new random token and return it; only its digest is kept."""
        token = crypto.generate_secret()
        self.token_digest = crypto.digest(token)
        return token
