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
from oauth_provider.scopes import scope_string


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    record: AccessToken
    expires_in: int


def default_subject(user: Any) -> str:
    """The default ``sub`` of user tokens: the primary key as a string (stable, never reassigned)."""
    return str(user.pk)


def subject_for(user: Any) -> str:
    """The ``sub`` claim for a user, from the callable named by ``USER_SUBJECT``."""
    return str(oauth_settings.USER_SUBJECT(user))


def issue_access_token(
    *,
    application: Application,
    scope: list[str],
    grant_type: str,
    user: Any = None,
    audience: str | None = None,
    **links: Any,
) -> IssuedAccessToken:
    """Sign an access token and record it by ``jti``; ``links`` are AccessToken foreign keys
    (``refresh_token``, ``authorization_code``) that revocation follows."""
    now = timezone.now()
    lifetime = application.access_token_lifetime or oauth_settings.ACCESS_TOKEN_LIFETIME
    issued_at = int(now.timestamp())
    expires_at = issued_at + lifetime
    audience = audience or oauth_settings.access_token_audience
    jti = crypto.generate_identifier(24)
    scope_value = scope_string(scope)
    claims = {
        "iss": oauth_settings.ISSUER,
        "sub": subject_for(user) if user is not None else application.client_id,
        "aud": audience,
        "client_id": application.client_id,
        "iat": issued_at,
        "exp": expires_at,
        "jti": jti,
        "scope": scope_value,
    }
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
        kid=signing_key.kid,
        **links,
    )
    return IssuedAccessToken(token=token, record=record, expires_in=lifetime)


def token_response_body(
    access: IssuedAccessToken, *, refresh_token: str | None = None, scope: list[str] | None = None
) -> dict[str, Any]:
    """The successful token response (RFC 6749 §5.1); optional members omitted, never null."""
    body: dict[str, Any] = {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.expires_in,
    }
    if refresh_token:
        body["refresh_token"] = refresh_token
    if scope:
        body["scope"] = scope_string(scope)
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
) -> IssuedRefreshToken:
    """Create an opaque refresh token (digest at rest). With ``parent`` it is the rotation of
    that token: same family, same scope and the family's absolute expiry (RFC 9700 §4.14.2)."""
    now = timezone.now()
    secret = crypto.generate_secret()
    if parent is not None:
        family_id, family_expires_at, scope_value = parent.family_id, parent.family_expires_at, parent.scope
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
        family_id=family_id,
        parent=parent,
        authorization_code=authorization_code,
        expires_at=min(idle_expiry, family_expires_at),
        family_expires_at=family_expires_at,
    )
    return IssuedRefreshToken(token=secret, record=record)
