"""Find the stored record of a token a client presents to the revocation or introspection endpoint.

Access tokens are JWTs recorded by ``jti``. A ``jti`` is trusted only after the signature verifies
against one of our signing keys (read from the database, so a key another process just created is
found), otherwise a forged JWT carrying someone else's ``jti`` could revoke or inspect their token.
Expiry is not checked here: the stored row decides whether a token is still live.
Refresh tokens are opaque and found by their SHA-256 digest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt
from django.db.models.signals import post_delete, post_save

from oauth_provider import crypto
from oauth_provider.conf import oauth_settings, on_reload
from oauth_provider.errors import InvalidToken
from oauth_provider.models import AccessToken, RefreshToken, SigningKey
from oauth_provider.resource.keysets import LocalKeySet
from oauth_provider.resource.validator import unverified_header
from oauth_provider.tokens.issue import ACCESS_TOKEN_TYPE

ACCESS_TOKEN_HINT = "access_token"
REFRESH_TOKEN_HINT = "refresh_token"
TOKEN_TYPE_HINTS = (ACCESS_TOKEN_HINT, REFRESH_TOKEN_HINT)


# Our published keys, parsed once per process: reloaded after SIGNING_KEY_CACHE_SECONDS, and on an
# unknown kid at most once a second (a key another process just created is found; forged kids cost
# at most one query a second). Cleared when this process changes a key or the settings.
_keys: LocalKeySet | None = None


def _verification_key(kid: str) -> jwt.PyJWK | None:
    global _keys
    if _keys is None:
        _keys = LocalKeySet(cache_seconds=oauth_settings.SIGNING_KEY_CACHE_SECONDS, min_refetch_seconds=1)
    return _keys.get(kid)


@on_reload
def _forget_keys(*args: Any, **kwargs: Any) -> None:
    global _keys
    _keys = None


post_save.connect(_forget_keys, sender=SigningKey, dispatch_uid="oauth_provider.tokens.lookup.key_saved")
post_delete.connect(_forget_keys, sender=SigningKey, dispatch_uid="oauth_provider.tokens.lookup.key_deleted")


def verified_access_token_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT access token whose signature one of our keys verifies, else None."""
    try:
        header = unverified_header(token)
    except InvalidToken:
        return None
    kid, algorithm = header.get("kid"), header.get("alg")
    if header.get("typ") != ACCESS_TOKEN_TYPE or not isinstance(kid, str) or not isinstance(algorithm, str):
        return None
    key = _verification_key(kid)
    # The algorithm comes from our key, never from the token (RFC 8725 §3.1).
    if key is None or key.algorithm_name != algorithm:
        return None
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            issuer=oauth_settings.ISSUER,
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "require": ["jti", "iss", "exp", "iat"],
            },
        )
    except jwt.InvalidTokenError:
        return None
    if not isinstance(claims.get("jti"), str):
        return None
    return claims


@dataclass(frozen=True)
class FoundToken:
    """A token we issued: its row, and for an access token the claims its verified JWT carries."""

    record: AccessToken | RefreshToken
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def is_access_token(self) -> bool:
        return isinstance(self.record, AccessToken)


def find_access_token(token: str) -> FoundToken | None:
    """The record and verified claims of one of our access tokens, or None."""
    claims = verified_access_token_claims(token)
    if claims is None:
        return None
    record = AccessToken.objects.select_related("application", "user").filter(jti=claims["jti"]).first()
    return FoundToken(record, claims) if record is not None else None


def find_refresh_token(token: str) -> FoundToken | None:
    record = (
        RefreshToken.objects.select_related("application", "user").filter(token_digest=crypto.digest(token)).first()
    )
    return FoundToken(record) if record is not None else None


def find_token(token: str, hint: str | None) -> FoundToken | None:
    """Look the token up, by the hinted type first and then the other (RFC 7009 §2.1, RFC 7662 §2.1).

    A hint the server does not know is ignored: the search simply covers every type.
    """
    finders = (find_refresh_token, find_access_token) if hint == REFRESH_TOKEN_HINT else (
        find_access_token, find_refresh_token)
    for finder in finders:
        found = finder(token)
        if found is not None:
            return found
    return None
