"""List filters of the admin: grant type, token state, audit event name, user by username.

Every filter works on SQLite and PostgreSQL, and none of them lists values by scanning a large table
(the audit trail and the token tables reach millions of rows).
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.db import connection
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.models import GrantType


class GrantTypeFilter(admin.SimpleListFilter):
    """Clients whose ``grant_types`` JSON list contains the chosen grant."""

    title = "grant type"
    parameter_name = "grant_type"

    def lookups(self, request, model_admin):
        return GrantType.choices

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        grant = self.value()
        if grant not in GrantType.values:
            return queryset
        if connection.features.supports_json_field_contains:
            return queryset.filter(grant_types__contains=[grant])
        # SQLite has no JSON containment: match the quoted element in the stored JSON text. The
        # quotes make it a whole-element match ("password" never matches "password_reset").
        return queryset.annotate(_grant_types_text=Cast("grant_types", CharField())).filter(
            _grant_types_text__contains=json.dumps(grant)
        )


class TokenStateFilter(admin.SimpleListFilter):
    """active / expired / revoked / used, for the columns a table has (tokens, refresh tokens, codes)."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        states = [("active", "Active"), ("expired", "Expired")]
        if _has_field(model_admin.model, "revoked_at"):
            states.append(("revoked", "Revoked"))
        if _has_field(model_admin.model, "used_at"):
            states.append(("used", "Used (rotated or redeemed)"))
        return states

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        has_used = _has_field(queryset.model, "used_at")
        has_revoked = _has_field(queryset.model, "revoked_at")
        not_revoked = Q(revoked_at__isnull=True) if has_revoked else Q()
        not_used = Q(used_at__isnull=True) if has_used else Q()
        match self.value():
            case "active":
                return queryset.filter(not_revoked, not_used, expires_at__gt=now)
            case "expired":
                return queryset.filter(not_revoked, not_used, expires_at__lte=now)
            case "revoked" if has_revoked:
                return queryset.filter(revoked_at__isnull=False)
            case "revoked":
                return queryset.none()
            case "used" if has_used:
                return queryset.filter(not_revoked, used_at__isnull=False)
        return queryset


def _has_field(model, name: str) -> bool:
    return any(field.name == name for field in model._meta.get_fields())


def audit_event_names() -> list[str]:
    """Every event name defined in ``audit.py`` (the constants in upper case), sorted."""
    return sorted(
        {value for name, value in vars(audit).items() if name.isupper() and isinstance(value, str) and value}
    )


class AuditEventNameFilter(admin.SimpleListFilter):
    """The event names ``audit.py`` defines; no ``SELECT DISTINCT`` over the whole audit trail."""

    title = "event"
    parameter_name = "event"

    def lookups(self, request, model_admin):
        return [(name, name.replace("_", " ")) for name in audit_event_names()]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(event=self.value())
        return queryset


class UsernameFilter(admin.SimpleListFilter):
    """A text box: rows of the user with exactly this username. Lists no users (there may be millions)."""

    title = "user (username)"
    parameter_name = "username"
    template = "admin/oauth_provider/username_filter.html"

    def lookups(self, request, model_admin):
        return ()

    def has_output(self) -> bool:
        return True

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "All",
            "value": self.value() or "",
            # The other active filters, kept as hidden fields of the text box's form.
            "other_params": [(k, v) for k, v in changelist.params.items() if k != self.parameter_name],
        }

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(user__username=self.value())
        return queryset
