"""ID Tokens (OpenID Connect Core §2, §3.1.3.6): their claims, and checking an ``id_token_hint``.

The claims are built here; signing and verifying use the server's keys (the same JWK Set as the
access tokens), with the algorithm the client registered (``id_token_signed_response_alg``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from oauth_provider import jose
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidToken
from oauth_provider.keys import get_signing_key, verification_key
from oauth_provider.models import Application
from oauth_provider.models.clients import ID_TOKEN_ALGORITHMS
from oauth_provider.oidc.claims import ID_TOKEN, custom_claims, user_claims
from oauth_provider.oidc.subjects import subject_for_client

OPENID = "openid"

# An unknown kid in a hint reloads the keys at most once a second, as for our access tokens
# (tokens.lookup): a key another process just created is found, forged kids cost little (S17).
UNKNOWN_KID_RELOAD_SECONDS = 1

# The hash of at_hash / c_hash per JWS algorithm (Core §3.1.3.6): the one the alg names;
# EdDSA with Ed25519 signs with SHA-512, so its half hash is of SHA-512 (as RPs compute it).
_HALF_HASH = {"RS256": hashlib.sha256, "ES256": hashlib.sha256, "EdDSA": hashlib.sha512}


def half_hash(value: str, algorithm: str) -> str:
    """Core §3.1.3.6: base64url of the left-most half of the hash of the ASCII octets of ``value``."""
    digest = _HALF_HASH[algorithm](value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class IdTokenContext:
    """What an ID Token says beyond the user and the client (kept with the code or refresh token)."""

    scope: tuple[str, ...]
    nonce: str = ""
    auth_time: int | None = None
    claims_request: Mapping[str, Any] | None = None


def openid_context(
    scope: list[str] | tuple[str, ...], *, nonce: str = "", auth_time: datetime | None = None,
    claims_request: Mapping[str, Any] | None = None,
) -> IdTokenContext | None:
    """The ID Token context of a grant, or None when the scope has no ``openid`` (no ID Token)."""
    if OPENID not in scope:
        return None
    return IdTokenContext(
        scope=tuple(scope), nonce=nonce or "", claims_request=claims_request or {},
        auth_time=int(auth_time.timestamp()) if auth_time is not None else None,
    )


def issue_id_token(*, client: Application, user: Any, context: IdTokenContext, access_token: str | None) -> str:
    """Build and sign an ID Token with the client's registered algorithm (Core §3.1.3.7 rule 7)."""
    algorithm = client.id_token_signed_response_alg
    claims = id_token_claims(client=client, user=user, context=context, algorithm=algorithm,
                             access_token=access_token)
    return sign_id_token(claims, algorithm)


def id_token_claims(
    *, client: Application, user: Any, context: IdTokenContext, algorithm: str, access_token: str | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """The claims of an ID Token for ``user`` and ``client`` (Core §2, §3.1.3.6, §5.5)."""
    issued_at = int(now if now is not None else timezone.now().timestamp())
    claims: dict[str, Any] = {}
    # Requested claims and the hook first: the protocol's own claims below always win (and the
    # hook is refused outright if it names one).
    claims.update(user_claims(user, scope=context.scope, claims_request=context.claims_request, target=ID_TOKEN))
    claims.update(custom_claims(client, user, list(context.scope), ID_TOKEN))
    claims.update(
        {
            "iss": oauth_settings.ISSUER,
            "sub": subject_for_client(user, client),
            "aud": client.client_id,
            "exp": issued_at + int(oauth_settings.ID_TOKEN_LIFETIME),
            "iat": issued_at,
            # Core §2: azp is the party the token was issued to; with a single audience it equals
            # aud, which RPs accept, and it names the client unambiguously.
            "azp": client.client_id,
        }
    )
    if context.auth_time is not None:
        claims["auth_time"] = context.auth_time
    if context.nonce:
        claims["nonce"] = context.nonce
    if access_token is not None:
        claims["at_hash"] = half_hash(access_token, algorithm)
    return claims


# --- signing and checking hints ---------------------------------------------------------------------


def sign_id_token(claims: Mapping[str, Any], algorithm: str) -> str:
    """Sign with the server's active key for ``algorithm`` (created on first need, then published)."""
    return jose.issue(claims, get_signing_key(algorithm), jose.ID_TOKEN)


class InvalidIdTokenHint(ValueError):
    """The id_token_hint was not issued by this server (or not to the client named)."""


def verify_id_token_hint(token: str, *, client_id: str | None = None) -> dict[str, Any]:
    """The claims of an ID Token this server issued (signature, ``typ``, ``iss``, ``aud`` when ``client_id``).

    An expired ID Token is still a good hint (RP-Initiated Logout §2, Core §3.1.2.1: it names the
    user; it grants nothing), so times are not checked.
    """

    def key_for(kid: str):
        return verification_key(
            kid,
            max_age=oauth_settings.SIGNING_KEY_CACHE_SECONDS,
            min_refetch_seconds=UNKNOWN_KID_RELOAD_SECONDS,
        )

    try:
        return jose.verify(
            token, key_for=key_for, issuer=oauth_settings.ISSUER, audience=client_id,
            algorithms=ID_TOKEN_ALGORITHMS, check_time=False, profile=jose.ID_TOKEN,
        )
    except InvalidToken:
        raise InvalidIdTokenHint("The id_token_hint is not an ID Token this server issued to this client.") from None
