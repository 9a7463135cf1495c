"""Remembered consent: which scopes a user already gave a client, and taking them back.

A remembered consent lets the authorization endpoint skip the consent page only when it covers
every requested scope; asking for more shows the page again. Revoking it also revokes the tokens
the user gave that client, so "revoke access" means what it says.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from oauth_provider import audit, http
from oauth_provider.conf import oauth_settings
from oauth_provider.models import AccessToken, Application, Consent, RefreshToken
from oauth_provider.scopes import parse_scope, scope_string
from oauth_provider.tokens.revocation import revoke_access_tokens, revoke_refresh_families


def consent_covers(user: Any, application: Application, scope: list[str]) -> bool:
    """Whether a remembered consent of ``user`` for ``application`` includes every scope in ``scope``."""
    if not oauth_settings.REMEMBER_CONSENT:
        return False
    consent = Consent.objects.filter(user=user, application=application).first()
    if consent is None:
        return False
    return set(scope) <= set(parse_scope(consent.scope))


def remember_consent(user: Any, application: Application, scope: list[str]) -> None:
    """Add ``scope`` to the user's remembered consent for the client (a no-op when not remembering)."""
    if not oauth_settings.REMEMBER_CONSENT:
        return
    consent, created = Consent.objects.get_or_create(
        user=user, application=application, defaults={"scope": scope_string(scope)}
    )
    if not created:
        known = parse_scope(consent.scope)
        merged = known + [s for s in scope if s not in known]
        if merged != known:
            consent.scope = scope_string(merged)
            consent.save(update_fields=["scope", "updated_at"])


# What a user's consent and an admin's trust were given to: the redirect URIs, the client type (and so
# its authentication) and the scopes. A change to any of them makes it another client (docs/SECURITY.md S28).
TRUST_FIELDS = ("redirect_uris", "client_type", "allowed_scopes", "token_endpoint_auth_method")


def trust_basis(application: Application) -> tuple:
    """The values of ``TRUST_FIELDS`` (redirect URIs and scopes compared as sets), to compare before and after."""
    return (
        frozenset(application.redirect_uri_list),
        application.client_type,
        frozenset(application.allowed_scope_list),
        application.token_endpoint_auth_method,
        (application.metadata or {}).get("token_endpoint_auth_method"),  # secret basic or post (RFC 7591)
    )


def forget_consents(application: Application) -> int:
    """Drop every remembered consent given to ``application``; the number dropped."""
    deleted, _ = Consent.objects.filter(application=application).delete()
    return deleted


def consents_of(user: Any) -> list[Consent]:
    return list(Consent.objects.filter(user=user).select_related("application").order_by("application__name"))


def revoke_consent(
    user: Any, consent_id: int, *, context: http.RequestContext = http.NO_CONTEXT
) -> bool:
    """Forget one of the user's consents and revoke the tokens they gave that client.

    Returns False when the consent does not exist or is not the user's (nothing revealed).
    """
    with transaction.atomic():
        consent = Consent.objects.filter(pk=consent_id, user=user).select_related("application").first()
        if consent is None:
            return False
        application = consent.application
        consent.delete()
        revoke_refresh_families(set(
            RefreshToken.objects.filter(user=user, application=application, revoked_at__isnull=True)
            .values_list("family_id", flat=True)
        ))
        revoke_access_tokens(AccessToken.objects.filter(user=user, application=application))
        audit.record(audit.CONSENT_REVOKED, context=context, application=application, user=user)
    return True
