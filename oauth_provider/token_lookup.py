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

from . import crypto
from .conf import oauth_settings
from .models import AccessToken, RefreshToken, SigningKey
from .tokens import ACCESS_TOKEN_TYPE

ACCESS_TOKEN_HINT = "access_token"
REFRESH_TOKEN_HINT = "refresh_token"
TOKEN_TYPE_HINTS = (ACCESS_TOKEN_HINT, REFRESH_TOKEN_HINT)


def verified_access_token_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT access token whose signature one of our keys verifies, else None."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        return None
    kid, algorithm = header.get("kid"), header.get("alg")
    # The algorithm comes from our key row, never from the token (RFC 8725 §3.1).
    if header.get("typ") != ACCESS_TOKEN_TYPE or not isinstance(kid, str) or not isinstance(algorithm, str):
        return None
    row = SigningKey.objects.filter(kid=kid).values_list("algorithm", "public_jwk").first()
    if row is None or row[0] != algorithm:
        return None
    key_algorithm, public_jwk = row
    try:
        public_key = jwt.PyJWK(public_jwk, algorithm=key_algorithm).key
        claims = jwt.decode(
            token,
            public_key,
            algorithms=[key_algorithm],
            issuer=oauth_settings.ISSUER,
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "require": ["jti", "iss", "exp", "iat"],
            },
        )
    except (jwt.InvalidTokenError, jwt.PyJWKError):
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
