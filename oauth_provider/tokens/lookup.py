"""Find the stored record of a token a client presents to the revocation or introspection endpoint.

Access tokens are JWTs recorded by ``jti``. A ``jti`` is trusted only after ``jose.verify`` (the
same checker the resource side uses) accepts the token against one of our signing keys, otherwise a
forged JWT carrying someone else's ``jti`` could revoke or inspect their token. Expiry is not checked
here: the stored row decides whether a token is still live.
Refresh tokens are opaque and found by their SHA-256 digest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Subquery

from oauth_provider import crypto, jose
from oauth_provider.conf import SUPPORTED_SIGNING_ALGORITHMS, oauth_settings
from oauth_provider.errors import InvalidToken
from oauth_provider.keys import verification_key
from oauth_provider.models import AccessToken, RefreshToken

REFRESH_TOKEN_HINT = "refresh_token"

# An unknown kid reloads the keys at most once a second: a key another process just created is found,
# and forged kids cost at most one query a second (docs/SECURITY.md S17).
UNKNOWN_KID_RELOAD_SECONDS = 1


def _our_key(kid: str) -> Any:
    return verification_key(kid, max_age=oauth_settings.SIGNING_KEY_CACHE_SECONDS,
                            min_refetch_seconds=UNKNOWN_KID_RELOAD_SECONDS)


def verified_access_token_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT access token one of our keys signed (``jose.verify``), else None.

    Neither ``aud`` nor the times are checked here (they are still required): introspection decides
    who may see which audience, and the stored row (with the endpoint) decides whether it is live.
    """
    try:
        return jose.verify(token, key_for=_our_key, issuer=oauth_settings.ISSUER, audience=None,
                           algorithms=SUPPORTED_SIGNING_ALGORITHMS, check_time=False)
    except InvalidToken:
        return None


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


def find_refresh_token_with_user(token: str) -> RefreshToken | None:
    """The refresh token row by digest, its user joined and nothing else: one indexed look-up.

    No client join and no ordering (the digest is unique): a caller that may only see its own tokens
    compares ``application_id`` with its own primary key instead.
    """
    rows = RefreshToken.objects.select_related("user").filter(token_digest=crypto.digest(token)).order_by()[:1]
    return next(iter(rows), None)


def access_token_user(jti: str) -> Any:
    """The user the access token ``jti`` was issued for (one query on the user table), or None.

    ``sub`` cannot be mapped back to a user in general (``USER_SUBJECT`` is any callable); the token's
    row can, through its unique ``jti``, inside the same statement.
    """
    user_model = get_user_model()
    user_id = AccessToken.objects.filter(jti=jti).order_by().values("user_id")[:1]
    return next(iter(user_model._default_manager.filter(pk=Subquery(user_id)).order_by()[:1]), None)


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
