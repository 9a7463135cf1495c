"""The one validator of access tokens presented to APIs: RFC 9068 profile, RFC 8725 practices.

Every resource-side entry point (middleware, DRF authentication and permissions, decorators)
calls ``get_validator().validate(token)``, which checks the token with ``jose.verify`` (the one
checker, shared with the authorization server's introspection and revocation) and turns the claims
into an ``AccessTokenInfo``. The default path verifies with keys cached in process and makes no
database query; the revocation check (on by default) is a membership test on the in-process list
of ``tokens.revocation`` (docs/SECURITY.md S26).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured, ValidationError

from oauth_provider import jose
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidToken
from oauth_provider.resource.keysets import KeySet, key_set_from_settings
from oauth_provider.scopes import parse_scope
from oauth_provider.tokens.revocation import is_jti_revoked


@dataclass(frozen=True)
class AccessTokenInfo:
    """A verified access token: what APIs read from ``request.oauth`` / DRF's ``request.auth``.

    ``user`` is resolved on first use (one query); a client-credentials token, whose ``sub`` is
    the client's own id (RFC 9068 §2.2), has no user and gives AnonymousUser.
    """

    claims: Mapping[str, Any] = field(repr=False)
    scopes: tuple[str, ...]
    client_id: str
    subject: str
    jti: str

    @property
    def is_client_only(self) -> bool:
        """True for a token a client obtained for itself (no user involved)."""
        return self.subject == self.client_id

    @property
    def expires_at(self) -> int:
        return int(self.claims["exp"])

    def has_scopes(self, *scopes: str) -> bool:
        return set(scopes) <= set(self.scopes)

    @cached_property
    def user(self) -> Any:
        """The Django user named by ``sub``; AnonymousUser for client tokens, unknown or inactive users."""
        if self.is_client_only:
            return AnonymousUser()
        user_model = get_user_model()
        try:
            pk = user_model._meta.pk.to_python(self.subject)
        except ValidationError:
            return AnonymousUser()
        user = user_model._default_manager.filter(pk=pk).first()
        if user is None or not getattr(user, "is_active", True):
            return AnonymousUser()
        return user


class TokenValidator:
    """Verify a JWT access token against one issuer, one audience and trusted keys."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str] | tuple[str, ...],
        key_set: KeySet,
        leeway: float = 30,
        check_revocation: bool = False,
    ) -> None:
        try:
            self.algorithms = jose.check_algorithms(algorithms)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"OAUTH_PROVIDER['RESOURCE_ALGORITHMS'] must list asymmetric algorithms only ({exc})"
            ) from None
        if not issuer or not audience:
            raise ImproperlyConfigured("The resource side needs an issuer and an audience (ISSUER setting).")
        self.issuer = issuer
        self.audience = audience
        self.key_set = key_set
        self.leeway = leeway
        self.check_revocation = check_revocation

    @classmethod
    def from_settings(cls) -> TokenValidator:
        return cls(
            issuer=oauth_settings.RESOURCE_ISSUER or oauth_settings.ISSUER,
            audience=oauth_settings.RESOURCE_AUDIENCE or oauth_settings.access_token_audience,
            algorithms=oauth_settings.RESOURCE_ALGORITHMS,
            key_set=key_set_from_settings(oauth_settings),
            leeway=oauth_settings.RESOURCE_LEEWAY,
            check_revocation=revocation_check_enabled(),
        )

    def validate(self, token: str) -> AccessTokenInfo:
        """The verified token, or ``InvalidToken`` saying (without secrets) what is wrong with it."""
        claims = jose.verify(token, key_for=self.key_set.get, issuer=self.issuer, audience=self.audience,
                             algorithms=self.algorithms, leeway=self.leeway)
        info = self._info(claims)
        if self.check_revocation and is_jti_revoked(info.jti):
            raise InvalidToken("The access token has been revoked.")
        return info

    @staticmethod
    def _info(claims: dict[str, Any]) -> AccessTokenInfo:
        scope = claims.get("scope", "")
        try:
            scopes = parse_scope(scope) if isinstance(scope, str) else None
        except ValueError:
            scopes = None
        if scopes is None:
            raise InvalidToken("The access token's scope claim is invalid.")
        return AccessTokenInfo(
            claims=MappingProxyType(dict(claims)),
            scopes=tuple(scopes),
            client_id=claims["client_id"],
            subject=claims["sub"],
            jti=claims["jti"],
        )


def revocation_check_enabled() -> bool:
    """RESOURCE_CHECK_REVOCATION, with None (the default) meaning: on unless the keys come from a remote
    JWKS (that server's revocations are in its own database, not ours; see the README)."""
    setting = oauth_settings.RESOURCE_CHECK_REVOCATION
    return not oauth_settings.RESOURCE_JWKS_URL if setting is None else bool(setting)


_validator: TokenValidator | None = None
_validator_lock = threading.Lock()


def get_validator() -> TokenValidator:
    """The process-wide validator built from settings (rebuilt when OAUTH_PROVIDER changes)."""
    global _validator
    validator = _validator
    if validator is None:
        with _validator_lock:
            if _validator is None:
                _validator = TokenValidator.from_settings()
            validator = _validator
    return validator


def reset_validator() -> None:
    """Forget the validator (settings changed; ``receivers`` calls it): the next request builds it again."""
    global _validator
    _validator = None
