"""Client management and the audit trail in the Django admin.

A client's secret is shown exactly once: on the page that answers the save that created it (or
the rotation that replaced it). It is never stored in plaintext, never put in a message or the
session, and never shown again.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from . import audit
from .models import (
    AccessToken,
    Application,
    AuditEvent,
    AuthorizationCode,
    ClientType,
    Consent,
    DeviceCode,
    GrantType,
    InitialAccessToken,
    RefreshToken,
    SigningKey,
)

NEW_SECRET_ATTRIBUTE = "_oauth_provider_new_client_secret"


class ApplicationForm(forms.ModelForm):
    grant_types = forms.MultipleChoiceField(
        choices=GrantType.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Application
        fields = [
            "name",
            "client_type",
            "grant_types",
            "redirect_uris",
            "allowed_scopes",
            "default_scopes",
            "require_pkce",
            "allow_plain_pkce",
            "skip_consent",
            "access_token_lifetime",
            "allowed_origins",
            "is_resource_server",
            "resource_audiences",
            "owner",
            "is_active",
        ]


def _show_secret_once(request, application: Application, secret: str, title: str) -> TemplateResponse:
    response = TemplateResponse(
        request,
        "admin/oauth_provider/application/secret_once.html",
        {
            **admin.site.each_context(request),
            "title": title,
            "application": application,
            "client_secret": secret,
            "opts": Application._meta,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    form = ApplicationForm
    list_display = ("name", "client_id", "client_type", "grant_list", "is_active", "created_at")
    list_filter = ("client_type", "is_active")
    search_fields = ("name", "client_id")
    readonly_fields = ("client_id", "secret_updated_at", "created_at", "updated_at")
    actions = ["rotate_secret"]

    @admin.display(description="grant types")
    def grant_list(self, obj: Application) -> str:
        return ", ".join(obj.grant_types or [])

    def save_model(self, request, obj: Application, form, change: bool) -> None:
        secret = None
        if obj.client_type == ClientType.PUBLIC:
            obj.client_secret_digest = ""
        elif not obj.has_secret:
            secret = obj.generate_secret()
        super().save_model(request, obj, form, change)
        if not change:
            audit.record(audit.CLIENT_CREATED, application=obj, user=request.user, source="admin")
        if secret is not None:
            setattr(request, NEW_SECRET_ATTRIBUTE, secret)

    def response_add(self, request, obj: Application, post_url_continue=None):
        secret = getattr(request, NEW_SECRET_ATTRIBUTE, None)
        if secret is not None:
            return _show_secret_once(request, obj, secret, "Client created: copy its secret now")
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj: Application):
        secret = getattr(request, NEW_SECRET_ATTRIBUTE, None)
        if secret is not None:
            return _show_secret_once(request, obj, secret, "Client secret generated: copy it now")
        return super().response_change(request, obj)

    @admin.action(description="Rotate the secret of the selected client", permissions=["change"])
    def rotate_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one client to rotate its secret.", messages.WARNING)
            return None
        application = queryset.get()
        if not application.is_confidential:
            self.message_user(request, "Public clients have no secret.", messages.WARNING)
            return None
        secret = application.generate_secret()
        application.save(update_fields=["client_secret_digest", "secret_updated_at", "updated_at"])
        audit.record(audit.CLIENT_SECRET_ROTATED, application=application, user=request.user, source="admin")
        return _show_secret_once(request, application, secret, "Secret rotated: copy the new one now")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
    list_display = ("jti", "application", "user", "grant_type", "scope", "created_at", "expires_at", "revoked_at")
    list_filter = ("grant_type", "application")
    search_fields = ("jti", "application__name", "application__client_id")
    list_select_related = ("application", "user")


@admin.register(AuthorizationCode)
class AuthorizationCodeAdmin(ReadOnlyAdmin):
    list_display = ("pk", "application", "user", "scope", "created_at", "expires_at", "used_at")
    list_filter = ("application",)
    search_fields = ("application__name", "application__client_id")
    list_select_related = ("application", "user")
    exclude = ("code_digest", "code_challenge")


@admin.register(DeviceCode)
class DeviceCodeAdmin(ReadOnlyAdmin):
    """Read-only; neither the device code's digest nor the user code is shown (SECURITY.md item 21)."""

    list_display = ("pk", "application", "status", "user", "scope", "interval", "created_at", "expires_at",
                    "decided_at", "last_polled_at")
    list_filter = ("status", "application")
    search_fields = ("application__name", "application__client_id")
    list_select_related = ("application", "user")
    exclude = ("device_code_digest", "user_code")


@admin.register(RefreshToken)
class RefreshTokenAdmin(ReadOnlyAdmin):
    list_display = ("pk", "application", "user", "scope", "family_id", "created_at", "expires_at", "used_at",
                    "revoked_at")
    list_filter = ("application",)
    search_fields = ("family_id", "application__name", "application__client_id")
    list_select_related = ("application", "user")
    exclude = ("token_digest",)


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    """Read-only; deleting a row here forgets the consent (the user's own page also revokes tokens)."""

    list_display = ("user", "application", "scope", "created_at", "updated_at")
    list_filter = ("application",)
    search_fields = ("user__username", "application__name", "application__client_id")
    list_select_related = ("application", "user")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ("kid", "algorithm", "state", "created_at", "activated_at", "retired_at")
    list_filter = ("algorithm", "state")
    exclude = ("private_key_encrypted",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event", "client_id", "user", "ip_address")
    list_filter = ("event",)
    search_fields = ("client_id", "event")
    date_hierarchy = "created_at"
    list_select_related = ("user",)


NEW_INITIAL_ACCESS_TOKEN_ATTRIBUTE = "_oauth_provider_new_initial_access_token"


def _in_a_week():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(days=7)


class InitialAccessTokenForm(forms.ModelForm):
    expires_at = forms.DateTimeField(initial=_in_a_week)

    class Meta:
        model = InitialAccessToken
        fields = ["description", "expires_at", "max_uses"]


@admin.register(InitialAccessToken)
class InitialAccessTokenAdmin(admin.ModelAdmin):
    """Tokens that allow dynamic client registration (REGISTRATION_MODE "initial_access_token").

    The token is generated on creation and shown once; afterwards only its digest exists, so a
    lost token is replaced, not recovered. Existing rows can only have their expiry shortened.
    """

    form = InitialAccessTokenForm
    list_display = ("pk", "description", "created_by", "created_at", "expires_at", "uses", "max_uses")
    readonly_fields = ("created_by", "created_at", "uses")
    list_select_related = ("created_by",)

    def save_model(self, request, obj: InitialAccessToken, form, change: bool) -> None:
        token = None
        if not change:
            token = obj.generate_token()
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if token is not None:
            audit.record(audit.INITIAL_ACCESS_TOKEN_CREATED, user=request.user, initial_access_token_id=obj.pk,
                         max_uses=obj.max_uses, source="admin")
            setattr(request, NEW_INITIAL_ACCESS_TOKEN_ATTRIBUTE, token)

    def response_add(self, request, obj: InitialAccessToken, post_url_continue=None):
        from .discovery import endpoint_url

        token = getattr(request, NEW_INITIAL_ACCESS_TOKEN_ATTRIBUTE, None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(
            request,
            "admin/oauth_provider/initialaccesstoken/token_once.html",
            {
                **admin.site.each_context(request),
                "title": "Initial access token created: copy it now",
                "initial_access_token": obj,
                "token": token,
                "registration_endpoint": endpoint_url("register"),
                "opts": InitialAccessToken._meta,
            },
        )
        response["Cache-Control"] = "no-store"
        return response
