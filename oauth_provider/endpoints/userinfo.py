"""The UserInfo endpoint's protocol logic (OpenID Connect Core §5.3).

An OAuth 2.0 protected resource: the access token (verified like any API's, RFC 9068) must carry
the ``openid`` scope and still be live in this server's records. The answer holds ``sub`` (the one
the client sees in its ID Tokens, Core §5.3.2) and the claims its scopes and ``claims`` request
disclose. Errors are RFC 6750's.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from oauth_provider.errors import InvalidToken
from oauth_provider.models import AccessToken
from oauth_provider.oidc.claims import USERINFO, user_claims
from oauth_provider.oidc.subjects import subject_for_client
from oauth_provider.resource.responses import insufficient_scope
from oauth_provider.resource.validator import get_validator

OPENID = "openid"


def userinfo(token: str) -> dict[str, Any]:
    """The UserInfo response for an access token; InvalidToken or InsufficientScope otherwise."""
    info = get_validator().validate(token)
    if OPENID not in info.scopes:
        raise insufficient_scope([OPENID])
    # One query: the token's record (revoked? whose?) with the user and what was asked at authorization.
    record = (
        AccessToken.objects.select_related("user", "application", "authorization_code", "refresh_token")
        .filter(jti=info.jti)
        .first()
    )
    if record is None or record.revoked_at is not None or record.expires_at <= timezone.now():
        raise InvalidToken("The access token is revoked or unknown.")
    user = record.user
    if user is None or not user.is_active or not record.application.is_active:
        raise InvalidToken("The access token does not stand for an active user.")
    origin = record.refresh_token or record.authorization_code
    claims_request = origin.claims if origin is not None else {}
    body = user_claims(user, scope=info.scopes, claims_request=claims_request, target=USERINFO)
    body["sub"] = subject_for_client(user, record.application)
    return body
