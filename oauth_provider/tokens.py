"""Issue JWT access tokens (RFC 9068) and build token responses (RFC 6749 §5.1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from django.utils import timezone

from . import crypto
from .conf import oauth_settings
from .keys import get_signing_key
from .models import AccessToken, Application
from .scopes import scope_string

ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068 §2.1


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    record: AccessToken
    expires_in: int


def subject_for(user: Any) -> str:
    """The ``sub`` claim for a user: their primary key as a string."""
    return str(user.pk)


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
    key = get_signing_key()
    token = jwt.encode(
        claims, key.private_key, algorithm=key.algorithm, headers={"typ": ACCESS_TOKEN_TYPE, "kid": key.kid}
    )
    record = AccessToken.objects.create(
        jti=jti,
        application=application,
        user=user,
        grant_type=grant_type,
        scope=scope_value,
        audience=audience,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
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
