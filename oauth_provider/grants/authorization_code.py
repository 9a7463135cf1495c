"""The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.5-4.6)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from oauth_provider import audit, crypto
from oauth_provider.errors import InvalidGrant
from oauth_provider.grants.base import Grant
from oauth_provider.models import AccessToken, AuthorizationCode, GrantType, RefreshToken
from oauth_provider.oidc.id_tokens import openid_context
from oauth_provider.scopes import parse_scope
from oauth_provider.tokens.revocation import revoke_access_tokens, revoke_refresh_families

# One message for every unusable code: the client learns nothing about why (unknown, used, expired, ...).
INVALID_CODE = "The authorization code is invalid, expired, used or was issued to another client."


class AuthorizationCodeGrant(Grant):
    grant_type = GrantType.AUTHORIZATION_CODE

    def issue(self) -> dict[str, Any]:
        params = self.request.params
        code = (
            AuthorizationCode.objects.select_related("user")
            .filter(code_digest=crypto.digest(self.request.require("code")))
            .first()
        )
        # RFC 6749 §4.1.3: the code must have been issued to the authenticated client.
        if code is None or code.application_id != self.client.pk:
            raise InvalidGrant(INVALID_CODE)
        if code.used_at is not None:
            self._replayed(code)
        if code.expires_at <= timezone.now() or not code.user.is_active:
            raise InvalidGrant(INVALID_CODE)
        self._check_redirect_uri(code, params.get("redirect_uri"))
        self._check_pkce(code, params.get("code_verifier"))
        # RFC 9449 §10: a code requested with dpop_jkt is redeemed only with a proof of that key;
        # checked before the code is spent, so a thief without the key cannot burn it.
        self.check_dpop_binding(code.dpop_jkt, "authorization code (dpop_jkt)")
        scope = parse_scope(code.scope)
        target = self.target(scope, list(code.resources))  # before anything is spent
        # No savepoint when nested (e.g. ATOMIC_REQUESTS): an error here fails the whole request anyway.
        with transaction.atomic(savepoint=False):
            # Single use, enforced by the database: of concurrent redemptions only one updates the row.
            unused = AuthorizationCode.objects.filter(pk=code.pk, used_at__isnull=True)
            won = unused.update(used_at=timezone.now())
            if won:
                body = self.issue_tokens(
                    scope=scope,
                    user=code.user,
                    with_refresh=self.may_refresh(),
                    authorization_code=code,
                    openid=openid_context(
                        scope, nonce=code.nonce, auth_time=code.auth_time, claims_request=code.claims
                    ),
                    event=audit.CODE_REDEEMED,
                    granted_resources=list(code.resources),
                    target=target,
                    code_id=code.pk,
                )
        if not won:
            self._replayed(code)
        return body

    def _replayed(self, code: AuthorizationCode) -> None:
        """RFC 6749 §4.1.2: a second use revokes every token issued from the code."""
        with transaction.atomic():
            families = set(
                RefreshToken.objects.filter(authorization_code=code).values_list("family_id", flat=True)
            )
            revoke_refresh_families(families)
            revoked = revoke_access_tokens(AccessToken.objects.filter(authorization_code=code))
            audit.record(
                audit.CODE_REPLAYED,
                context=self.request.context,
                application=self.client,
                user=code.user,
                code_id=code.pk,
                revoked_access_tokens=revoked,
                revoked_refresh_families=len(families),
            )
        raise InvalidGrant(INVALID_CODE)

    def _check_redirect_uri(self, code: AuthorizationCode, sent: str | None) -> None:
        """RFC 6749 §4.1.3: identical to the authorization request's redirect_uri, if it had one."""
        if code.redirect_uri:
            if sent != code.redirect_uri:
                raise InvalidGrant("redirect_uri does not match the authorization request.")
        elif sent is not None and sent not in self.client.redirect_uri_list:
            raise InvalidGrant("redirect_uri does not match the authorization request.")

    def _check_pkce(self, code: AuthorizationCode, verifier: str | None) -> None:
        """RFC 7636 §4.6; a verifier for a code without a challenge is a downgrade (RFC 9700 §4.8.2)."""
        if not code.code_challenge:
            if verifier is not None:
                raise InvalidGrant("code_verifier was sent for a code issued without code_challenge.")
            return
        if verifier is None:
            raise InvalidGrant("code_verifier is required for this code.")
        if not crypto.pkce_matches(verifier, code.code_challenge, code.code_challenge_method):
            raise InvalidGrant("code_verifier does not match the code_challenge.")
