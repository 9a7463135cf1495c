"""Issue JWT access tokens (RFC 9068) and opaque refresh tokens, and build token responses (RFC 6749 §5.1)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from oauth_provider import crypto, jose
from oauth_provider.conf import oauth_settings
from oauth_provider.keys import get_signing_key
from oauth_provider.models import AccessToken, Application, RefreshToken
from oauth_provider.oidc.claims import ACCESS_TOKEN, custom_claims
from oauth_provider.oidc.subjects import subject_for, subject_for_client

__all__ = ["IssuedAccessToken", "IssuedRefreshToken", "default_subject", "issue_access_token",
           "issue_refresh_token", "subject_for", "token_response_body"]
from oauth_provider.scopes import scope_string


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    record: AccessToken
    expires_in: int


def default_subject(user: Any) -> str:
    """The default ``sub`` of user tokens: the primary key as a string (stable, never reassigned)."""
    return str(user.pk)


def issue_access_token(
    *,
    application: Application,
    scope: list[str],
    grant_type: str,
    user: Any = None,
    audience: str | None = None,
    dpop_jkt: str = "",
    **links: Any,
) -> IssuedAccessToken:
    """Sign an access token and record it by ``jti``; ``links`` are AccessToken foreign keys
    (``refresh_token``, ``authorization_code``) that revocation follows. With ``dpop_jkt`` the token is
    DPoP-bound: ``cnf.jkt`` names the key (RFC 9449 §6.1), and only its proofs make it usable."""
    now = timezone.now()
    lifetime = application.access_token_lifetime or oauth_settings.ACCESS_TOKEN_LIFETIME
    issued_at = int(now.timestamp())
    expires_at = issued_at + lifetime
    audience = audience or oauth_settings.access_token_audience
    jti = crypto.generate_identifier(24)
    scope_value = scope_string(scope)
    # The custom-claims hook first, so the protocol's claims below can never be replaced (and a hook
    # naming one is refused outright: oidc.claims.REGISTERED_CLAIMS).
    claims = custom_claims(application, user, list(scope), ACCESS_TOKEN)
    claims |= {
        "iss": oauth_settings.ISSUER,
        # The sub this client sees everywhere (OpenID Connect Core §8: pairwise per sector, if so registered).
        "sub": subject_for_client(user, application) if user is not None else application.client_id,
        "aud": audience,
        "client_id": application.client_id,
        "iat": issued_at,
        "exp": expires_at,
        "jti": jti,
        "scope": scope_value,
    }
    if dpop_jkt:
        claims["cnf"] = {"jkt": dpop_jkt}
    signing_key = get_signing_key()
    token = jose.issue(claims, signing_key, jose.ACCESS_TOKEN)
    record = AccessToken.objects.create(
        jti=jti,
        application=application,
        user=user,
        grant_type=grant_type,
        scope=scope_value,
        audience=audience,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        dpop_jkt=dpop_jkt,
        kid=signing_key.kid,
        **links,
    )
    return IssuedAccessToken(token=token, record=record, expires_in=lifetime)


def token_response_body(
    access: IssuedAccessToken, *, refresh_token: str | None = None, scope: list[str] | None = None
) -> dict[str, Any]:
    """The successful token response (RFC 6749 §5.1); optional members omitted, never null.

    ``token_type`` is ``DPoP`` for a DPoP-bound access token (RFC 9449 §5), else ``Bearer``."""
    body: dict[str, Any] = {
        "access_token": access.token,
        "token_type": "DPoP" if access.record.dpop_jkt else "Bearer",
        "expires_in": access.expires_in,
    }
    if refresh_token:
        body["refresh_token"] = refresh_token
    if scope:
        # ``scope`` is what ``access`` was issued with: its row holds that very string (scope_string(scope)),
        # which the audit record reuses too, so it is built once per request.
        body["scope"] = access.record.scope
    return body


@dataclass(frozen=True)
class IssuedRefreshToken:
    token: str
    record: RefreshToken


def issue_refresh_token(
    *,
    application: Application,
    user: Any,
    scope: list[str] | str,
    parent: RefreshToken | None = None,
    authorization_code: Any = None,
    dpop_jkt: str = "",
    auth_time: Any = None,
    claims: dict[str, Any] | None = None,
    resources: list[str] | None = None,
) -> IssuedRefreshToken:
    """Create an opaque refresh token (digest at rest). With ``parent`` it is the rotation of
    that token: same family, same scope and the family's absolute expiry (RFC 9700 §4.14.2).
    ``dpop_jkt`` binds it to a DPoP key (a public client's, RFC 9449 §5)."""
    now = timezone.now()
    secret = crypto.generate_secret()
    if parent is not None:
        family_id, family_expires_at, scope_value = parent.family_id, parent.family_expires_at, parent.scope
        # OpenID Connect Core §12.2: a refreshed ID Token keeps the original login's auth_time.
        auth_time, claims = parent.auth_time, parent.claims
        resources = parent.resources
    else:
        family_id = uuid.uuid4()
        family_expires_at = now + timedelta(seconds=oauth_settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME)
        scope_value = scope if isinstance(scope, str) else scope_string(scope)
    idle_expiry = now + timedelta(seconds=oauth_settings.REFRESH_TOKEN_IDLE_LIFETIME)
    record = RefreshToken.objects.create(
        token_digest=crypto.digest(secret),
        application=application,
        user=user,
        scope=scope_value,
        resources=list(resources or []),
        family_id=family_id,
        parent=parent,
        authorization_code=authorization_code,
        auth_time=auth_time,
        claims=claims or {},
        expires_at=min(idle_expiry, family_expires_at),
        family_expires_at=family_expires_at,
        dpop_jkt=dpop_jkt,
    )
    return IssuedRefreshToken(token=secret, record=record)
