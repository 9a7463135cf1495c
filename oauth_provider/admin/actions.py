"""Admin actions on clients and tokens. Each one revokes through ``revocation`` (so every resource
server of the deployment refuses the tokens, docs/SECURITY.md S26) and is audited with the acting
admin; deactivation goes through ``clients.lifecycle`` like every other path."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet

from oauth_provider import audit
from oauth_provider.clients import lifecycle
from oauth_provider.models import AccessToken, Application
from oauth_provider.tokens import revocation


def revoke_application_tokens(application: Application, *, user) -> tuple[int, int]:
    with transaction.atomic():
        access, refresh = revocation.revoke_client_tokens(application)
        audit.record(audit.TOKENS_REVOKED_BY_ADMIN, application=application, user=user, source="admin",
                     access_tokens_revoked=access, refresh_tokens_revoked=refresh)
    return access, refresh


@admin.action(description="Revoke all tokens of the selected clients", permissions=["change"])
def revoke_all_tokens(modeladmin, request, queryset: QuerySet[Application]) -> None:
    access = refresh = 0
    for application in queryset:
        a, r = revoke_application_tokens(application, user=request.user)
        access, refresh = access + a, refresh + r
    modeladmin.message_user(request, f"Revoked {access} access token(s) and {refresh} refresh token(s).")


@admin.action(description="Deactivate the selected clients (and revoke their tokens)", permissions=["change"])
def deactivate(modeladmin, request, queryset: QuerySet[Application]) -> None:
    names, access, refresh = [], 0, 0
    for application in queryset.filter(is_active=True):
        # docs/SECURITY.md S4: it can no longer authenticate, its refresh tokens are dead and its access
        # tokens fail introspection and the revocation check at once.
        revoked = lifecycle.deactivate_client(application, user=request.user, source="admin")
        if revoked is None:
            continue  # deactivated meanwhile by someone else, who revoked and audited
        names.append(application.name)
        access, refresh = access + revoked.access_tokens, refresh + revoked.refresh_tokens
    if not names:
        modeladmin.message_user(request, "The selected clients are already inactive.", messages.WARNING)
        return
    modeladmin.message_user(
        request,
        f"Deactivated {', '.join(names)}; revoked {access} access token(s) and {refresh} refresh token(s).",
    )


@admin.action(description="Reactivate the selected clients", permissions=["change"])
def reactivate(modeladmin, request, queryset: QuerySet[Application]) -> None:
    names, secretless = [], []
    for application in queryset.filter(is_active=False):
        if application.is_confidential and not application.has_secret:
            # e.g. imported from django-oauth-toolkit with --rotate-later: active, it could never authenticate.
            secretless.append(application.name)
            continue
        with transaction.atomic():
            Application.objects.filter(pk=application.pk).update(is_active=True)
            audit.record(audit.CLIENT_REACTIVATED, application=application, user=request.user, source="admin")
        names.append(application.name)
    if secretless:
        modeladmin.message_user(
            request,
            f"Not reactivated: {', '.join(secretless)} (no secret yet). Open the client, tick Active and save: "
            "its new secret is shown once.",
            messages.WARNING,
        )
    if not names:
        if not secretless:
            modeladmin.message_user(request, "The selected clients are already active.", messages.WARNING)
        return
    modeladmin.message_user(request, f"Reactivated {', '.join(names)}. Their old tokens stay revoked.")


def _audit_token_revocation(request, rows: list[tuple[int, str]], *, kind: str, count: int, **ids) -> None:
    """One audit event per client whose tokens the admin revoked, naming (up to 100 of) the tokens."""
    applications = Application.objects.in_bulk({pk for pk, _ in rows})
    for application in applications.values():
        named = {key: value[application.pk][:100] for key, value in ids.items()}
        audit.record(audit.TOKENS_REVOKED_BY_ADMIN, application=application, user=request.user, source="admin",
                     kind=kind, revoked_in_action=count, **named)


@admin.action(description="Revoke the selected access tokens", permissions=["revoke"])
def revoke_access_tokens(modeladmin, request, queryset: QuerySet[AccessToken]) -> None:
    rows = list(queryset.values_list("application_id", "jti"))
    by_client: dict[int, list[str]] = {}
    for pk, jti in rows:
        by_client.setdefault(pk, []).append(jti)
    with transaction.atomic():
        count = revocation.revoke_access_tokens(AccessToken.objects.filter(pk__in=queryset.values("pk")))
        _audit_token_revocation(request, rows, kind="access", count=count, jtis=by_client)
    modeladmin.message_user(request, f"Revoked {count} access token(s).")


@admin.action(description="Revoke the selected refresh tokens (and their whole families)", permissions=["revoke"])
def revoke_refresh_tokens(modeladmin, request, queryset) -> None:
    rows = list(queryset.order_by().values_list("application_id", "family_id").distinct())
    families: dict[int, list[str]] = {}
    for pk, family_id in rows:
        families.setdefault(pk, []).append(str(family_id))
    with transaction.atomic():
        count = revocation.revoke_refresh_families({family_id for _, family_id in rows})
        _audit_token_revocation(request, rows, kind="refresh", count=count, family_ids=families)
    modeladmin.message_user(request, f"Revoked {count} refresh token(s) in {len(rows)} famil(ies).")
