"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from oauth_provider import audit, crypto
from oauth_provider.errors import InvalidGrant, InvalidScope
from oauth_provider.grants.base import Grant
from oauth_provider.models import GrantType, RefreshToken
from oauth_provider.oidc.id_tokens import openid_context
from oauth_provider.scopes import parse_scope
from oauth_provider.tokens.revocation import revoke_refresh_family

INVALID_REFRESH = "The refresh token is invalid, expired, revoked or was issued to another client."


class RefreshTokenGrant(Grant):
    grant_type = GrantType.REFRESH_TOKEN

    def issue(self) -> dict[str, Any]:
        presented = self.request.require("refresh_token")
        token = (
            RefreshToken.objects.select_related("user")
            .filter(token_digest=crypto.digest(presented))
            .first()
        )
        if token is None or token.application_id != self.client.pk:
            raise InvalidGrant(INVALID_REFRESH)
        # RFC 9449 §5: a bound refresh token only with a proof of its key. Before the reuse check, so a
        # thief without the key can neither use a live token nor revoke the family with a used one.
        self.check_dpop_binding(token.dpop_jkt, "refresh token")
        if token.used_at is not None:
            self._reused(token)
        now = timezone.now()
        # Idle and absolute lifetimes are enforced here, not only by clean-up (docs/SECURITY.md S10).
        if token.revoked_at is not None or token.expires_at <= now or token.family_expires_at <= now:
            raise InvalidGrant(INVALID_REFRESH)
        if token.user is not None and not token.user.is_active:
            raise InvalidGrant(INVALID_REFRESH)
        scope = self._narrowed_scope(token)
        target = self.target(scope, list(token.resources))  # before anything is spent
        # No savepoint when nested (e.g. ATOMIC_REQUESTS): an error here fails the whole request anyway.
        with transaction.atomic(savepoint=False):
            live = RefreshToken.objects.filter(pk=token.pk, used_at__isnull=True, revoked_at__isnull=True)
            won = live.update(used_at=now)
            if won:
                body = self.issue_tokens(
                    scope=scope,
                    user=token.user,
                    with_refresh=True,
                    parent=token,
                    # Core §12.2: same sub and auth_time as the original login, and no nonce.
                    openid=openid_context(scope, auth_time=token.auth_time, claims_request=token.claims),
                    event=audit.REFRESH_TOKEN_ROTATED,
                    granted_resources=list(token.resources),
                    target=target,
                    family_id=str(token.family_id),
                )
        if not won:
            self._reused(token)
        return body

    def _narrowed_scope(self, token: RefreshToken) -> list[str]:
        """RFC 6749 §6: a refresh may ask for less than was granted, never more."""
        granted = parse_scope(token.scope)
        try:
            requested = parse_scope(self.request.params.get("scope"))
        except ValueError as exc:
            raise InvalidScope(f"Malformed scope: {exc}.") from exc
        if not requested:
            return granted
        wider = [s for s in requested if s not in granted]
        if wider:
            raise InvalidScope(f"A refresh cannot add scope: {' '.join(wider)}.")
        return requested

    def _reused(self, token: RefreshToken) -> None:
        """A rotated token came back: someone holds a copy. Revoke the whole family."""
        with transaction.atomic():
            revoked = revoke_refresh_family(token.family_id)
            audit.record(
                audit.REFRESH_TOKEN_REUSED,
                context=self.request.context,
                application=self.client,
                user=token.user,
                family_id=str(token.family_id),
                revoked_refresh_tokens=revoked,
            )
        raise InvalidGrant(INVALID_REFRESH)
