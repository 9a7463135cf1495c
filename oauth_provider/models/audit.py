"""The audit trail: who did what, when, from where. Never a secret."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .clients import Application


class AuditEvent(models.Model):
    event = models.CharField(max_length=64)
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    # Kept as text too: failed authentications name clients that may not exist.
    client_id = models.CharField(max_length=100, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "audit event"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["event", "created_at"], name="oauth_audit_event_created"),
            models.Index(fields=["application", "created_at"], name="oauth_audit_app_created"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event}"


class ActivityDashboard(AuditEvent):
    """The admin's activity dashboard over the audit trail. A proxy model, so that the dashboard
    has a place in the admin index and a permission of its own ("Can view activity dashboard")."""

    class Meta:
        proxy = True
        verbose_name = "activity dashboard"
        verbose_name_plural = "activity dashboard"
        default_permissions = ("view",)
