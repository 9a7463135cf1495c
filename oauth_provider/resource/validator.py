"""The one validator of access tokens presented to APIs: RFC 9068 profile, RFC 8725 practices.

Every resource-side entry point (middleware, DRF authentication and permissions, decorators)
calls ``get_validator().validate(token)``. The default path verifies with keys cached in process
and makes no database query; the optional revocation check is a cache look-up.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import jwt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models.signals import post_delete, post_save

from oauth_provider.conf import oauth_settings, on_reload
from oauth_provider.errors import InvalidToken
from oauth_provider.resource.keysets import CachedKeySet, Clock, LocalKeySet, key_set_from_settings
from oauth_provider.scopes import parse_scope

# RFC 9068 §2.1: the media type of JWT access tokens, with or without the "application/" prefix.
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})

# RFC 9068 §2.2: claims every access token carries.
REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")

# Algorithms a resource server may never accept, whatever the configuration says (RFC 8725 §3.1).
FORBIDDEN_ALGORITHMS = frozenset({"none", "HS256", "HS384", "HS512"})

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")

# Far longer than any token this server issues; bounds the work an attacker can ask for.
MAX_TOKEN_LENGTH = 8192


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


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, read only to pick the key and the algorithm; ``jwt.decode`` then parses the
    token strictly and verifies that very header under the signature. (PyJWT's own unverified read
    checks each character in Python and costs a third of the whole validation.)"""
    segment, dot, _ = token.partition(".")
    if not dot or not _BASE64URL.fullmatch(segment):
        raise InvalidToken("The access token is malformed.")
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidToken("The access token is malformed.") from None
    if not isinstance(header, dict):
        raise InvalidToken("The access token is malformed.")
    return header


class TokenValidator:
    """Verify a JWT access token against one issuer, one audience and trusted keys."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str] | tuple[str, ...],
        key_set: CachedKeySet,
        leeway: float = 30,
        check_revocation: bool = False,
    ) -> None:
        forbidden = {a for a in algorithms if a in FORBIDDEN_ALGORITHMS or a.lower() == "none"}
        if forbidden or not algorithms:
            raise ImproperlyConfigured(
                "OAUTH_PROVIDER['RESOURCE_ALGORITHMS'] must list asymmetric algorithms only "
                f"(refused: {sorted(forbidden) or 'an empty list'})"
            )
        if not issuer or not audience:
            raise ImproperlyConfigured("The resource side needs an issuer and an audience (ISSUER setting).")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.key_set = key_set
        self.leeway = leeway
        self.check_revocation = check_revocation

    @classmethod
    def from_settings(cls, clock: Clock | None = None) -> TokenValidator:
        return cls(
            issuer=oauth_settings.RESOURCE_ISSUER or oauth_settings.ISSUER,
            audience=oauth_settings.RESOURCE_AUDIENCE or oauth_settings.access_token_audience,
            algorithms=oauth_settings.RESOURCE_ALGORITHMS,
            key_set=key_set_from_settings(oauth_settings, clock),
            leeway=oauth_settings.RESOURCE_LEEWAY,
            check_revocation=oauth_settings.RESOURCE_CHECK_REVOCATION,
        )

    def validate(self, token: str) -> AccessTokenInfo:
        """The verified token, or ``InvalidToken`` saying (without secrets) what is wrong with it."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("The access token is malformed.")
        header = unverified_header(token)

        # The algorithm comes from configuration, never from the token (RFC 8725 §3.1).
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise InvalidToken("The access token is signed with an algorithm that is not accepted.")
        # Explicit typing keeps other JWTs (ID tokens, logout tokens) out (RFC 9068 §4, RFC 8725 §3.11).
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
            raise InvalidToken("The token is not an access token (typ must be at+jwt).")
        # The key is chosen by kid from the trusted set only; jku, x5u, jwk and x5c are never used.
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("The access token names no signing key (kid).")
        key = self.key_set.get(kid)
        if key is None:
            raise InvalidToken("The access token is signed with an unknown key.")
        # The key fixes the algorithm: an RSA key never verifies an HMAC or EC signature.
        if key.algorithm_name != algorithm:
            raise InvalidToken("The access token's algorithm does not match its key.")

        claims = self._decode(token, key, algorithm)
        info = self._info(claims)
        if self.check_revocation:
            # Imported here: the revocation module needs the models, this module does not.
            from oauth_provider.tokens.revocation import is_jti_revoked

            if is_jti_revoked(info.jti):
                raise InvalidToken("The access token has been revoked.")
        return info

    def _decode(self, token: str, key: jwt.PyJWK, algorithm: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The access token expired.") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("The access token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("The access token is not meant for this API (aud).") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("The access token comes from another issuer (iss).") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"The access token lacks the {exc.claim} claim.") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("The access token signature is invalid.") from None
        except jwt.PyJWTError:
            raise InvalidToken("The access token is invalid.") from None

    @staticmethod
    def _info(claims: dict[str, Any]) -> AccessTokenInfo:
        for name in ("sub", "client_id", "jti"):
            if not isinstance(claims[name], str) or not claims[name]:
                raise InvalidToken(f"The access token's {name} claim is invalid.")
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


@on_reload
def reset_validator() -> None:
    """Forget the validator and its cached keys (settings changed)."""
    global _validator
    _validator = None


def _signing_keys_changed(*args: Any, **kwargs: Any) -> None:
    # A key added or deleted in this process is seen at once; other processes see it on an
    # unknown kid or after RESOURCE_JWKS_CACHE_SECONDS.
    validator = _validator
    if validator is not None and isinstance(validator.key_set, LocalKeySet):
        validator.key_set.clear()


_SIGNING_KEY = "oauth_provider.SigningKey"
post_save.connect(_signing_keys_changed, sender=_SIGNING_KEY, dispatch_uid="oauth_provider.resource.saved")
post_delete.connect(_signing_keys_changed, sender=_SIGNING_KEY, dispatch_uid="oauth_provider.resource.del")
