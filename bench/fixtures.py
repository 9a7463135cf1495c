"""What the cases need before the clock starts: a user, clients, and pools of single-use secrets.

Pools are bulk-inserted rows whose plaintext secrets only the harness knows (the server stores
digests, as always). Codes and refresh tokens get a long expiry so a pool stays valid for the
whole run; everything else about them is what the authorization endpoint would have stored.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlencode

from django.contrib.auth import get_user_model
from django.utils import timezone

from oauth_provider import crypto
from oauth_provider.models import Application, AuthorizationCode, ClientType, GrantType, RefreshToken
from oauth_provider.tokens.issue import issue_access_token

REDIRECT_URI = "https://bench.example.test/callback"
# One verifier for every pooled code: the server still hashes it and compares per request.
CODE_VERIFIER = "bench-code-verifier-" + "v" * 40
POOL_LIFETIME = timedelta(hours=2)
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Client:
    application: Application
    secret: str

    @property
    def basic(self) -> str:
        """The Authorization header value for client_secret_basic (RFC 6749 §2.3.1)."""
        raw = f"{quote(self.application.client_id, safe='')}:{quote(self.secret, safe='')}"
        return "Basic " + base64.b64encode(raw.encode()).decode()


@dataclass(frozen=True)
class World:
    """The rows every case shares."""

    user: object
    service: Client  # client_credentials
    web: Client  # authorization_code + refresh_token


def create_world() -> World:
    user = get_user_model().objects.create_user("bench-user", password="bench-user-password-0123456789")
    service = _client("bench-service", [GrantType.CLIENT_CREDENTIALS])
    web = _client("bench-web", [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN], redirect_uris=REDIRECT_URI)
    return World(user=user, service=service, web=web)


def _client(client_id: str, grant_types: list[str], **fields) -> Client:
    application = Application(
        client_id=client_id,
        name=client_id,
        client_type=ClientType.CONFIDENTIAL,
        grant_types=grant_types,
        allowed_scopes="read write",
        default_scopes="read",
        # Longer than the whole run, so a token minted before it stays valid to the end.
        access_token_lifetime=3 * 3600,
        **fields,
    )
    secret = application.generate_secret()
    application.save()
    return Client(application, secret)


def access_token(world: World) -> str:
    """A signed access token for the bench user (the server's active key signs it)."""
    return issue_access_token(
        application=world.web.application, user=world.user, scope=["read"], grant_type="authorization_code"
    ).token


def dpop_access_token(world: World) -> tuple[object, str]:
    """A DPoP key pair (P-256) and an access token bound to it (``cnf.jkt``, RFC 9449 §6.1)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from oauth_provider.dpop import jwk_thumbprint

    key = ec.generate_private_key(ec.SECP256R1())
    jkt = jwk_thumbprint(_public_jwk(key))
    token = issue_access_token(
        application=world.web.application, user=world.user, scope=["read"], grant_type="authorization_code",
        dpop_jkt=jkt,
    ).token
    return key, token


def _public_jwk(key) -> dict:
    import json

    from jwt.algorithms import ECAlgorithm

    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    return {name: jwk[name] for name in ("crv", "kty", "x", "y")}


def dpop_proofs(key, method: str, url: str, access_token: str, count: int) -> list[str]:
    """``count`` single-use DPoP proofs (RFC 9449 §4) for one request, signed with PyJWT."""
    import secrets
    import time

    import jwt

    from oauth_provider.dpop import access_token_hash

    header = {"typ": "dpop+jwt", "jwk": _public_jwk(key)}
    ath = access_token_hash(access_token)
    now = int(time.time())
    return [
        jwt.encode({"jti": secrets.token_urlsafe(12), "htm": method, "htu": url, "iat": now, "ath": ath},
                   key, algorithm="ES256", headers=header)
        for _ in range(count)
    ]


def mint_codes(world: World, count: int) -> list[str]:
    """``count`` unused authorization codes with an S256 challenge; returns the token request bodies."""
    now = timezone.now()
    challenge = crypto.pkce_s256(CODE_VERIFIER)
    secrets = [crypto.generate_secret() for _ in range(count)]
    AuthorizationCode.objects.bulk_create(
        [
            AuthorizationCode(
                code_digest=crypto.digest(secret),
                application=world.web.application,
                user=world.user,
                redirect_uri=REDIRECT_URI,
                scope="read",
                code_challenge=challenge,
                code_challenge_method="S256",
                expires_at=now + POOL_LIFETIME,
            )
            for secret in secrets
        ],
        batch_size=5000,
    )
    return [
        urlencode({"grant_type": "authorization_code", "code": secret, "redirect_uri": REDIRECT_URI,
                   "code_verifier": CODE_VERIFIER})
        for secret in secrets
    ]


def mint_refresh_tokens(world: World, count: int) -> list[str]:
    """``count`` live refresh tokens, each the head of its own family; returns the plaintext tokens."""
    now = timezone.now()
    secrets = [crypto.generate_secret() for _ in range(count)]
    RefreshToken.objects.bulk_create(
        [
            RefreshToken(
                token_digest=crypto.digest(secret),
                application=world.web.application,
                user=world.user,
                scope="read",
                family_id=uuid.uuid4(),
                expires_at=now + POOL_LIFETIME,
                family_expires_at=now + POOL_LIFETIME,
            )
            for secret in secrets
        ],
        batch_size=5000,
    )
    return secrets


def refresh_bodies(world: World, count: int) -> list[str]:
    return [urlencode({"grant_type": "refresh_token", "refresh_token": token})
            for token in mint_refresh_tokens(world, count)]


def revocation_bodies(world: World, count: int) -> list[str]:
    return [urlencode({"token": token, "token_type_hint": "refresh_token"})
            for token in mint_refresh_tokens(world, count)]
