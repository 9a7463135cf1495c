"""The activity dashboard inside the admin: charts of the audit trail and a "needs attention" panel.

It is the changelist of the ``ActivityDashboard`` proxy model, so it is listed in the admin index and
guarded by the admin's login and the "Can view activity dashboard" permission like any admin page.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.admin import charts
from oauth_provider.admin.activity import Activity, activity

PRESETS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
# Longest custom range: a bar a day stays readable, and the queries stay bounded.
MAX_RANGE = timedelta(days=366)
TOP_CLIENTS = 10
# Lines of the "needs attention" panel; the rest are counted, and the audit trail has them all.
ATTENTION_LINES = 25


class DateRangeForm(forms.Form):
    """A preset (last 24 hours, 7 or 30 days) or a custom range of whole days, from and to inclusive."""

    range = forms.ChoiceField(
        choices=[("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days"), ("custom", "Custom")],
        required=False,
    )
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        """Errors of a custom range are put on the field to fix, so the page shows them beside it."""
        data = super().clean()
        if data.get("range") == "custom":
            start, end = data.get("start"), data.get("end")
            # A date that did not parse already has its error ("Enter a valid date."): none twice.
            if not start and "start" not in self.errors:
                self.add_error("start", "A custom range needs a first day.")
            if not end and "end" not in self.errors:
                self.add_error("end", "A custom range needs a last day.")
            if start and end and end < start:
                self.add_error("end", "The range ends before it starts.")
            elif start and end and end - start >= MAX_RANGE:
                self.add_error("end", f"Choose at most {MAX_RANGE.days} days.")
        return data

    def period(self, now: datetime) -> tuple[datetime, datetime]:
        """[start, end) of the chosen range; the last 24 hours when the form is empty or invalid."""
        data = self.cleaned_data if self.is_valid() else {}
        choice = data.get("range") or "24h"
        if choice == "custom":
            tz = timezone.get_current_timezone()
            start = datetime.combine(data["start"], time.min, tzinfo=tz)
            end = datetime.combine(data["end"] + timedelta(days=1), time.min, tzinfo=tz)
            return start, end
        return now - PRESETS[choice], now


def dashboard_context(current: Activity) -> dict:
    """The template context: numbers, the panel and the SVG charts of one period."""
    outcomes = current.outcomes
    top = sorted(current.tokens_by_client.items(), key=lambda item: -sum(item[1].values()))[:TOP_CLIENTS]
    client_rows = [(current.client_names.get(client_id) or client_id or "(unknown)", grants)
                   for client_id, grants in top]

    def chart(title: str, names: tuple[str, ...]) -> str:
        return charts.stacked_bars(
            outcomes.buckets, {name.replace("_", " "): outcomes.values[name] for name in names},
            title=title, hourly=current.hourly,
        )

    return {
        "activity": current,
        "attention": current.attention[:ATTENTION_LINES],
        "attention_more": max(len(current.attention) - ATTENTION_LINES, 0),
        "totals": {
            "tokens": current.tokens_by_grant.total(),
            "failed_auth": outcomes.total(audit.CLIENT_AUTH_FAILED),
            "refresh_reuse": outcomes.total(audit.REFRESH_TOKEN_REUSED),
            "code_replay": outcomes.total(audit.CODE_REPLAYED),
            "consent_granted": outcomes.total(audit.CONSENT_GRANTED),
            "consent_denied": outcomes.total(audit.CONSENT_DENIED),
            "device_approved": outcomes.total(audit.DEVICE_CODE_APPROVED),
            "device_denied": outcomes.total(audit.DEVICE_CODE_DENIED),
        },
        # Grants sorted by name in both token charts, so that a grant has the same colour in each.
        "tokens_chart": charts.stacked_bars(
            current.tokens_by_grant.buckets, dict(sorted(current.tokens_by_grant.values.items())),
            title="Access tokens issued, by grant", hourly=current.hourly,
        ),
        "clients_chart": charts.horizontal_bars(client_rows, title="Access tokens issued, by client and grant"),
        "failures_chart": chart("Failed client authentications and replay detections",
                                (audit.CLIENT_AUTH_FAILED, audit.REFRESH_TOKEN_REUSED, audit.CODE_REPLAYED)),
        "decisions_chart": chart("Consent and device decisions", (
            audit.CONSENT_GRANTED, audit.CONSENT_DENIED, audit.DEVICE_CODE_APPROVED, audit.DEVICE_CODE_DENIED,
        )),
    }


class ActivityDashboardAdmin(admin.ModelAdmin):
    """Shows the dashboard instead of a list of rows; nothing can be added, changed or deleted here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        # Only the dashboard itself: the rows are audit events, shown by the audit trail's admin.
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.changelist_view), name=name)]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = DateRangeForm(request.GET or None)
        now = timezone.now()
        start, end = form.period(now)
        context = {
            **self.admin_site.each_context(request),
            "title": "Activity dashboard",
            "opts": self.model._meta,
            "form": form,
            "start": start,
            "end": end,
            **dashboard_context(activity(start, end, now=now)),
        }
        return TemplateResponse(request, "admin/oauth_provider/dashboard.html", context)
