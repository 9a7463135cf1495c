"""The UserInfo endpoint's protocol logic (OpenID Connect Core §5.3).

An OAuth 2.0 protected resource of this server: the access token must be one of ours (signature,
``iss``, RFC 9068 profile: ``tokens.lookup``), carry the ``openid`` scope, and its record must be live
(not revoked, not expired, an active user and client). The answer holds ``sub`` (the one the client
sees in its ID Tokens, Core §5.3.2) and the claims its scopes and ``claims`` request disclose.
Every error carries its RFC 6750 §3 challenge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from oauth_provider import http
from oauth_provider.errors import InsufficientScope, InvalidToken, OAuthError, TokenRequired
from oauth_provider.models import AccessToken
from oauth_provider.oidc.claims import USERINFO, user_claims
from oauth_provider.oidc.subjects import subject_for_client
from oauth_provider.scopes import parse_scope
from oauth_provider.tokens.lookup import verified_access_token_claims

OPENID = "openid"


def challenged(error: OAuthError) -> OAuthError:
    """``error`` with its ``WWW-Authenticate`` challenge (a bare one when no token was sent)."""
    scope = OPENID if isinstance(error, InsufficientScope) else None
    error.headers.setdefault(
        "WWW-Authenticate",
        http.www_authenticate("Bearer", error=error.error, error_description=error.description, scope=scope)
        if error.error else http.www_authenticate("Bearer"),
    )
    return error


@dataclass(frozen=True)
class UserInfoAnswer:
    body: dict[str, Any]
    # The client the token was issued to (its registered origins may read the answer: CORS).
    client_id: str


def userinfo(token: str | None) -> dict[str, Any]:
    """The UserInfo response for the request's bearer token; a challenged OAuthError otherwise."""
    return userinfo_answer(token).body


def userinfo_answer(token: str | None) -> UserInfoAnswer:
    try:
        return _userinfo(token)
    except OAuthError as exc:
        raise challenged(exc) from None


def _userinfo(token: str | None) -> UserInfoAnswer:
    if token is None:
        raise TokenRequired()
    claims = verified_access_token_claims(token)
    if claims is None:
        raise InvalidToken("The access token is invalid.")
    try:
        scope = parse_scope(claims.get("scope")) if isinstance(claims.get("scope", ""), str) else []
    except ValueError:
        scope = []
    if OPENID not in scope:
        raise InsufficientScope("The access token lacks the openid scope.", status_code=403)
    # One query: the token's record (revoked? expired? whose?) with what was asked at authorization.
    record = (
        AccessToken.objects.select_related("user", "application", "authorization_code", "refresh_token")
        .filter(jti=claims["jti"])
        .first()
    )
    if record is None or record.revoked_at is not None or record.expires_at <= timezone.now():
        raise InvalidToken("The access token is expired, revoked or unknown.")
    user = record.user
    if user is None or not user.is_active or not record.application.is_active:
        raise InvalidToken("The access token does not stand for an active user.")
    origin = record.refresh_token or record.authorization_code
    claims_request = origin.claims if origin is not None else {}
    body = user_claims(user, scope=scope, claims_request=claims_request, target=USERINFO)
    body["sub"] = subject_for_client(user, record.application)
    return UserInfoAnswer(body, record.application.client_id)
