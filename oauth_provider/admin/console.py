"""Client management and the audit trail in the Django admin.

A client's secret is shown exactly once, with POST/redirect/GET: the save that created it (or the
rotation that replaced it) redirects to a one-time page. Between the two requests the secret waits
in the admin's session, encrypted (Fernet, key derived from ``SECRET_KEY``), bound to that admin and
that client, for at most ``SECRET_ONCE_SECONDS``; the first GET removes it. Reloading that page, or
the page before it, never shows it again and never creates a second client. It is never stored in
plaintext, never put in a message, and only a digest is kept in the database.
"""

from __future__ import annotations

import base64
import json
import secrets as _secrets
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from oauth_provider import audit
from oauth_provider.admin import actions as admin_actions
from oauth_provider.admin.activity import annotate_token_activity
from oauth_provider.admin.dashboard import ActivityDashboardAdmin
from oauth_provider.admin.filters import AuditEventNameFilter, GrantTypeFilter, TokenStateFilter, UsernameFilter
from oauth_provider.clients import lifecycle
from oauth_provider.clients.consent import TRUST_FIELDS, forget_consents
from oauth_provider.conf import oauth_settings
from oauth_provider.http import endpoint_url
from oauth_provider.models import (
    AccessToken,
    ActivityDashboard,
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
    SubjectType,
)
from oauth_provider.oidc.sectors import SectorIdentifierError, verify_sector_identifier
from oauth_provider.scopes import known_scopes
from oauth_provider.tokens import revocation

NEW_SECRET_ATTRIBUTE = "_oauth_provider_new_client_secret"
SECRET_ONCE_SESSION_KEY = "_oauth_provider_secret_once"
SECRET_ONCE_SECONDS = 300
NO_GRANT_TYPES = "Choose at least one grant type: a client without one can never get a token."
NO_SCOPES = "Name at least one scope: a client without allowed scopes gets invalid_scope on every request."

# Grants RFC 9700 deprecates (§2.4 password, §2.1.2 implicit): allowed only as a per-client opt-in.
LEGACY_GRANTS = (GrantType.PASSWORD, GrantType.IMPLICIT)


class ApplicationForm(forms.ModelForm):
    """Redirect URIs, grant types (against the client type) and scopes (against the server's) are
    validated by ``Application.clean``; the form adds the guidance an operator needs to choose."""

    grant_types = forms.MultipleChoiceField(
        choices=GrantType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Public clients cannot use client credentials. Password and implicit are legacy opt-ins "
        "(RFC 9700 deprecates both): choose them only for a client that cannot be changed.",
    )

    LABELS = {
        "name": "Name",
        "client_type": "Client type",
        "grant_types": "Grant types",
        "redirect_uris": "Redirect URIs",
        "allowed_origins": "Allowed origins (CORS)",
        "allowed_scopes": "Allowed scopes",
        "default_scopes": "Default scopes",
        "require_pkce": "Require PKCE",
        "allow_plain_pkce": "Allow plain PKCE",
        "skip_consent": "Skip consent",
        "access_token_lifetime": "Access token lifetime",
        "is_resource_server": "Resource server",
        "resource_audiences": "Resource audiences",
        "id_token_signed_response_alg": "ID Token signing algorithm",
        "subject_type": "Subject type",
        "sector_identifier_uri": "Sector identifier URI",
        "post_logout_redirect_uris": "Post-logout redirect URIs",
        "require_auth_time": "Require auth_time",
        "default_max_age": "Default max_age",
        "resource_scopes": "Resource scopes",
        "token_endpoint_auth_method": "Token endpoint auth method",
        "token_endpoint_auth_signing_alg": "Signing alg",
        "jwks": "JWKS",
        "jwks_uri": "JWKS URI",
        "require_pushed_authorization_requests": "Require pushed authorization requests",
        "is_active": "Active",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        known = ", ".join(oauth_settings.SCOPES) or "(none)"
        openid = ", ".join(s for s in known_scopes() if s not in oauth_settings.SCOPES)
        for name in ("allowed_scopes", "default_scopes"):
            if name in self.fields:
                self.fields[name].help_text += f" The server's scopes: {known}."
                if openid:
                    self.fields[name].help_text += f" OpenID Connect scopes: {openid}."
        # Left empty (e.g. by a form that predates them), these take the model's defaults.
        for name in ("id_token_signed_response_alg", "subject_type"):
            if name in self.fields:
                self.fields[name].required = False
        for name, label in self.LABELS.items():
            if name in self.fields:
                self.fields[name].label = label

    def clean_id_token_signed_response_alg(self) -> str:
        return self.cleaned_data.get("id_token_signed_response_alg") or "RS256"

    def clean_subject_type(self) -> str:
        return self.cleaned_data.get("subject_type") or SubjectType.PUBLIC

    def clean(self):
        cleaned = super().clean()
        if "grant_types" in self.fields and not cleaned.get("grant_types") and "grant_types" not in self.errors:
            self.add_error("grant_types", NO_GRANT_TYPES)
        if "allowed_scopes" in self.fields and not (cleaned.get("allowed_scopes") or "").strip() \
                and "allowed_scopes" not in self.errors:
            self.add_error("allowed_scopes", NO_SCOPES)
        # Core §8.1: the sector identifier document must list every redirect URI; fetched (safely)
        # only when the operator sets or changes it, or changes the redirect URIs.
        uri = cleaned.get("sector_identifier_uri")
        if uri and ({"sector_identifier_uri", "redirect_uris"} & set(self.changed_data)):
            redirect_uris = [line.strip() for line in (cleaned.get("redirect_uris") or "").splitlines() if line.strip()]
            try:
                verify_sector_identifier(uri, redirect_uris)
            except SectorIdentifierError as exc:
                self.add_error("sector_identifier_uri", str(exc))
        return cleaned

    def legacy_grants(self) -> list[str]:
        return [g for g in self.cleaned_data.get("grant_types") or [] if g in LEGACY_GRANTS]

    class Meta:
        model = Application
        fields = [
            "name",
            "client_type",
            "token_endpoint_auth_method",
            "token_endpoint_auth_signing_alg",
            "jwks",
            "jwks_uri",
            "grant_types",
            "redirect_uris",
            "allowed_scopes",
            "default_scopes",
            "require_pkce",
            "allow_plain_pkce",
            "dpop_bound_access_tokens",
            "require_pushed_authorization_requests",
            "skip_consent",
            "access_token_lifetime",
            "allowed_origins",
            "is_resource_server",
            "resource_audiences",
            # OpenID Connect
            "id_token_signed_response_alg",
            "subject_type",
            "sector_identifier_uri",
            "post_logout_redirect_uris",
            "require_auth_time",
            "default_max_age",
            "resource_scopes",
            "owner",
            "is_active",
        ]


def _secret_cipher() -> Fernet:
    """The key that protects a secret on its way from the POST to the one-time GET."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"oauth_provider admin: client secret shown once").derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _redirect_to_secret_once(request, application: Application, secret: str, title: str) -> HttpResponseRedirect:
    """Keep the secret (encrypted) for one GET by this admin, and redirect there (POST/redirect/GET)."""
    handle = _secrets.token_urlsafe(16)
    pending = dict(request.session.get(SECRET_ONCE_SESSION_KEY, {}))
    pending[handle] = {
        "client": application.pk,
        "user": str(request.user.pk),
        "title": title,
        "secret": _secret_cipher().encrypt(secret.encode()).decode(),
    }
    # At most a few pending secrets: an admin who never opens the page does not grow the session.
    request.session[SECRET_ONCE_SESSION_KEY] = dict(list(pending.items())[-5:])
    url = reverse("admin:oauth_provider_application_secret_once", args=[application.pk, handle])
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    return response


def _take_secret(request, object_id: str, handle: str) -> tuple[str, str] | None:
    """The secret waiting under ``handle`` for this admin and this client, removed as it is read."""
    pending = dict(request.session.get(SECRET_ONCE_SESSION_KEY, {}))
    entry = pending.pop(handle, None)
    if entry is None:
        return None
    request.session[SECRET_ONCE_SESSION_KEY] = pending
    if str(entry.get("client")) != str(object_id) or entry.get("user") != str(request.user.pk):
        return None
    try:
        secret = _secret_cipher().decrypt(entry["secret"].encode(), ttl=SECRET_ONCE_SECONDS).decode()
    except (InvalidToken, KeyError, AttributeError):
        return None
    return secret, entry.get("title") or "Copy the secret now"


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
    list_display = ("name", "client_id", "client_type", "grant_list", "is_active", "created_at",
                    "last_token_issued", "tokens_last_24h")
    list_filter = ("client_type", GrantTypeFilter, "is_active")
    search_fields = ("name", "client_id")
    readonly_fields = ("client_id_shown", "secret_updated_at", "created_at", "updated_at")
    actions = ["rotate_secret", admin_actions.revoke_all_tokens, admin_actions.deactivate, admin_actions.reactivate]
    change_form_template = "admin/oauth_provider/application/change_form.html"

    class Media:
        css = {"all": ["oauth_provider/admin.css"]}

    GRANTS_AND_SCOPES = ("Grants and scopes", {"fields": ("grant_types", "allowed_scopes", "default_scopes")})
    REDIRECTS = ("Redirects and origins", {"fields": ("redirect_uris", "allowed_origins")})
    SECURITY = ("Security", {"fields": ("require_pkce", "allow_plain_pkce", "dpop_bound_access_tokens",
                                        "require_pushed_authorization_requests", "skip_consent",
                                        "access_token_lifetime")})
    AUTHENTICATION = ("Client authentication (private_key_jwt)", {
        "fields": ("token_endpoint_auth_method", "token_endpoint_auth_signing_alg", "jwks", "jwks_uri"),
        "classes": ("collapse",),
    })
    RESOURCE = ("Resource server (introspection, resource indicators)", {
        "fields": ("is_resource_server", "resource_audiences", "resource_scopes"), "classes": ("collapse",),
    })
    OPENID = ("OpenID Connect", {
        "fields": ("id_token_signed_response_alg", "subject_type", "sector_identifier_uri",
                   "post_logout_redirect_uris", "require_auth_time", "default_max_age"),
        "description": "ID Tokens, the sub this client sees (pairwise: per sector, OpenID Connect Core §8) "
                       "and RP-initiated logout. Used when the client asks for the openid scope.",
        "classes": ("collapse",),
    })

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            # No client id yet: it is generated when the client is saved (showing a guess would mislead).
            identity = ("Identity", {
                "fields": ("name", "client_type", "owner", "is_active"),
                "description": "The client ID is generated when you save; it is shown on the next page.",
            })
            return [identity, self.AUTHENTICATION, self.REDIRECTS, self.GRANTS_AND_SCOPES, self.SECURITY,
                    self.OPENID, self.RESOURCE]
        identity = ("Identity", {"fields": ("client_id_shown", "name", "client_type", "owner", "is_active")})
        history = ("History", {"fields": ("secret_updated_at", "created_at", "updated_at")})
        return [identity, self.AUTHENTICATION, self.REDIRECTS, self.GRANTS_AND_SCOPES, self.SECURITY,
                self.OPENID, self.RESOURCE, history]

    @admin.display(description="Client ID")
    def client_id_shown(self, obj: Application) -> str:
        return format_html('<code id="client-id">{}</code>', obj.client_id) if obj and obj.pk else "—"

    def get_urls(self):
        own = [
            path("<path:object_id>/secret/<str:handle>/", self.admin_site.admin_view(self.secret_once_view),
                 name="oauth_provider_application_secret_once"),
            path("<path:object_id>/rotate-secret/", self.admin_site.admin_view(self.rotate_secret_view),
                 name="oauth_provider_application_rotate_secret"),
        ]
        return own + super().get_urls()

    def secret_once_view(self, request, object_id: str, handle: str):
        application = get_object_or_404(Application, pk=object_id)
        if not self.has_change_permission(request, application):
            raise PermissionDenied
        taken = _take_secret(request, object_id, handle)
        if taken is None:
            self.message_user(
                request,
                "That secret was already shown (it is shown only once). If it was not saved, rotate the secret.",
                messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:oauth_provider_application_change", args=[application.pk]))
        secret, title = taken
        return _show_secret_once(request, application, secret, title)

    def rotate_secret_view(self, request, object_id: str):
        """The change page's "Rotate secret" button (a POST; a GET changes nothing)."""
        application = get_object_or_404(Application, pk=object_id)
        if not self.has_change_permission(request, application):
            raise PermissionDenied
        change_url = reverse("admin:oauth_provider_application_change", args=[application.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        if not application.is_confidential:
            self.message_user(request, "Public clients have no secret.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        return self._rotate(request, application)

    def _rotate(self, request, application: Application):
        if application.uses_private_key_jwt:
            self.message_user(request, "private_key_jwt clients authenticate with their keys, not a secret.",
                              messages.WARNING)
            return HttpResponseRedirect(reverse("admin:oauth_provider_application_change", args=[application.pk]))
        secret = application.generate_secret()
        application.save(update_fields=["client_secret_digest", "secret_updated_at", "updated_at"])
        audit.record(audit.CLIENT_SECRET_ROTATED, application=application, user=request.user, source="admin")
        return _redirect_to_secret_once(request, application, secret, "Secret rotated: copy the new one now")

    def get_queryset(self, request):
        return annotate_token_activity(super().get_queryset(request))

    @admin.display(description="grant types")
    def grant_list(self, obj: Application) -> str:
        return ", ".join(obj.grant_types or [])

    @admin.display(description="last token issued", ordering="last_token_at")
    def last_token_issued(self, obj: Application):
        return obj.last_token_at

    @admin.display(description="tokens, last 24 h", ordering="tokens_24h")
    def tokens_last_24h(self, obj: Application) -> int:
        return obj.tokens_24h

    def save_model(self, request, obj: Application, form, change: bool) -> None:
        secret = None
        if obj.client_type == ClientType.PUBLIC or obj.uses_private_key_jwt:
            obj.client_secret_digest = ""  # a private_key_jwt client proves itself with its key
        elif not obj.has_secret:
            secret = obj.generate_secret()
        activity_changed = change and "is_active" in form.changed_data
        if activity_changed and not obj.is_active:
            # Unticking "active" does what the deactivate action does. Before the save, so that the save's
            # safety-net receiver finds the client already deactivated (clients/lifecycle.py).
            lifecycle.deactivate_client(obj, user=request.user, source="admin")
        trust_changed = change and bool(set(form.changed_data) & set(TRUST_FIELDS))
        trust_dropped = trust_changed and obj.skip_consent and "skip_consent" not in form.changed_data
        if trust_dropped:
            # Trust was given to the old client; the admin re-ticks it in the same form to keep it.
            obj.skip_consent = False
        super().save_model(request, obj, form, change)
        if trust_changed:
            # Another client now: the consents users gave the old one no longer stand (docs/SECURITY.md S28).
            forget_consents(obj)
        if trust_dropped:
            self.message_user(
                request,
                f"{obj.name}: redirect URIs, type, scopes or authentication method changed, so remembered consents and "
                "'Skip consent' were dropped; tick 'Skip consent' again in this same form to keep it.",
                messages.WARNING,
            )
        if not change:
            audit.record(audit.CLIENT_CREATED, application=obj, user=request.user, source="admin")
        elif activity_changed and obj.is_active:
            audit.record(audit.CLIENT_REACTIVATED, application=obj, user=request.user, source="admin")
        if secret is not None:
            setattr(request, NEW_SECRET_ATTRIBUTE, secret)
        legacy = form.legacy_grants()
        if legacy:
            self.message_user(
                request,
                f"{obj.name} may use the legacy grant(s) {', '.join(legacy)}; "
                "`manage.py check --deploy` will warn about it.",
                messages.WARNING,
            )

    def delete_model(self, request, obj: Application) -> None:
        self._delete_client(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            for application in queryset:
                self._delete_client(request, application)

    def _delete_client(self, request, obj: Application) -> None:
        """Revoke first (the cascade deletes the token rows, resource servers keep the JWTs), audit, delete.
        Audited as ``tokens_revoked_by_admin``, as admin deletions always were (Django's admin log has the rest)."""
        lifecycle.delete_client(obj, user=request.user, source="admin", event=audit.TOKENS_REVOKED_BY_ADMIN)

    def response_add(self, request, obj: Application, post_url_continue=None):
        secret = getattr(request, NEW_SECRET_ATTRIBUTE, None)
        if secret is not None:
            return _redirect_to_secret_once(request, obj, secret, "Client created: copy its secret now")
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj: Application):
        secret = getattr(request, NEW_SECRET_ATTRIBUTE, None)
        if secret is not None:
            return _redirect_to_secret_once(request, obj, secret, "Client secret generated: copy it now")
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
        return self._rotate(request, application)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        """Revoke actions need the model's "change" permission, though the rows themselves are read-only."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
    list_display = ("jti", "application", "user", "grant_type", "scope", "created_at", "expires_at", "revoked_at")
    list_filter = (TokenStateFilter, "grant_type", "application", UsernameFilter)
    search_fields = ("jti", "application__name", "application__client_id")
    list_select_related = ("application", "user")
    actions = [admin_actions.revoke_access_tokens]

    class Media:
        css = {"all": ["oauth_provider/admin.css"]}

    # Deleting a live token's row revokes it first: the JWT stays refused everywhere (docs/SECURITY.md S26).
    def delete_model(self, request, obj: AccessToken) -> None:
        with transaction.atomic():
            revocation.revoke_access_tokens(AccessToken.objects.filter(pk=obj.pk))
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            revocation.revoke_access_tokens(AccessToken.objects.filter(pk__in=queryset.values("pk")))
            super().delete_queryset(request, queryset)


@admin.register(AuthorizationCode)
class AuthorizationCodeAdmin(ReadOnlyAdmin):
    list_display = ("pk", "application", "user", "scope", "created_at", "expires_at", "used_at")
    list_filter = (TokenStateFilter, "application", UsernameFilter)
    search_fields = ("application__name", "application__client_id")
    list_select_related = ("application", "user")
    exclude = ("code_digest", "code_challenge")


@admin.register(DeviceCode)
class DeviceCodeAdmin(ReadOnlyAdmin):
    """Read-only; neither the device code's digest nor the user code is shown (docs/SECURITY.md S21)."""

    list_display = ("pk", "application", "status", "user", "scope", "interval", "created_at", "expires_at",
                    "decided_at", "last_polled_at")
    list_filter = ("status", "application", UsernameFilter)
    search_fields = ("application__name", "application__client_id")
    list_select_related = ("application", "user")
    exclude = ("device_code_digest", "user_code")


@admin.register(RefreshToken)
class RefreshTokenAdmin(ReadOnlyAdmin):
    list_display = ("pk", "application", "user", "scope", "family", "created_at", "expires_at", "used_at",
                    "revoked_at")
    list_filter = (TokenStateFilter, "application", UsernameFilter)
    search_fields = ("family_id", "application__name", "application__client_id")
    list_select_related = ("application", "user")
    exclude = ("token_digest",)
    actions = [admin_actions.revoke_refresh_tokens]

    class Media:
        css = {"all": ["oauth_provider/admin.css"]}

    @admin.display(description="family", ordering="family_id")
    def family(self, obj: RefreshToken) -> str:
        """The first block of the family UUID (the full one in the tooltip and on the row's page)."""
        family = str(obj.family_id)
        return format_html('<span class="oauth-family" title="{}">{}…</span>', family, family[:8])


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

    class Media:
        css = {"all": ["oauth_provider/admin.css"]}


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Who (user, client), what (event, details), when and from where (IP, user agent); never a secret."""

    list_display = ("created_at", "event", "client_id", "user", "ip_address")
    list_filter = (AuditEventNameFilter, "application", UsernameFilter, "created_at")
    search_fields = ("=client_id", "=event", "user__username", "application__name")
    list_select_related = ("user",)
    # The table grows to millions of rows: count only the filtered result, never the whole table twice,
    # and no date_hierarchy (its SELECT DISTINCT over every date costs a full scan); the date filter stays.
    show_full_result_count = False
    fields = ("created_at", "event", "application", "client_id", "user", "ip_address", "user_agent",
              "details_json")
    readonly_fields = ("details_json",)

    @admin.display(description="details")
    def details_json(self, obj: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.details, indent=2, sort_keys=True, ensure_ascii=False))


admin.site.register(ActivityDashboard, ActivityDashboardAdmin)


NEW_INITIAL_ACCESS_TOKEN_ATTRIBUTE = "_oauth_provider_new_initial_access_token"


def _in_a_week():
    return timezone.now() + timedelta(days=7)


class InitialAccessTokenForm(forms.ModelForm):
    expires_at = forms.DateTimeField(initial=_in_a_week)

    class Meta:
        model = InitialAccessToken
        fields = ["description", "expires_at", "max_uses"]

    def clean_expires_at(self):
        """An existing token's expiry can only move earlier: a token handed out is never extended."""
        value = self.cleaned_data["expires_at"]
        if self.instance.pk is not None and value is not None and value > self.instance.expires_at:
            raise forms.ValidationError("The expiry of an existing token can only be shortened.")
        return value

    def clean_max_uses(self):
        """An existing token's uses can only be lowered (never below the uses already made)."""
        value = self.cleaned_data["max_uses"]
        if self.instance.pk is not None and value is not None and value > self.instance.max_uses:
            raise forms.ValidationError("The number of uses of an existing token can only be lowered.")
        return value


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
