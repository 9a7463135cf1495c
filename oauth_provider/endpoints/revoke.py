"""Token revocation (RFC 7009): a client withdraws an access or refresh token it was issued.

Decisions (see the README):
- The client authenticates as at the token endpoint (RFC 7009 §2.1); a public client identifies
  itself with ``client_id`` (method ``none``) and may revoke only its own tokens, like any client.
- ``token_type_hint`` is only the order of the search; an unknown hint is ignored, never an
  ``unsupported_token_type`` error, because the server supports revoking every token it issues
  (RFC 7009 §2.2.1 reserves that error for token types the server cannot revoke).
- Unknown, expired, already revoked or another client's tokens answer 200 and change nothing
  (§2.2): the answer never tells a caller whether a token exists.
- Revoking a refresh token revokes its whole family and the access tokens issued from it (§2.1:
  "SHOULD also invalidate all access tokens based on the same authorization grant"); revoking an
  access token leaves its refresh token alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from oauth_provider import audit, http
from oauth_provider.clients.authentication import REVOCATION, authenticate_request
from oauth_provider.errors import InvalidRequest
from oauth_provider.models import AccessToken, Application, RefreshToken
from oauth_provider.tokens.lookup import find_token
from oauth_provider.tokens.revocation import revoke_access_tokens, revoke_refresh_family


def revoke_token(
    params: Mapping[str, str], *, authorization: str = "", context: http.RequestContext = http.NO_CONTEXT
) -> None:
    """Handle one revocation request (RFC 7009 §2.1); success is an empty 200 whatever the token."""
    client = authenticate_request(authorization, params, endpoint=REVOCATION, context=context)
    token = params.get("token")
    if not token:
        raise InvalidRequest("The token parameter is required.")
    found = find_token(token, params.get("token_type_hint"))
    if found is None or found.record.application_id != client.pk:
        return
    if found.is_access_token:
        _revoke_access_token(found.record, client, context)
    else:
        _revoke_refresh_token(found.record, client, context)


def _revoke_access_token(record: AccessToken, client: Application, context: http.RequestContext) -> None:
    with transaction.atomic():
        if revoke_access_tokens(AccessToken.objects.filter(pk=record.pk)):
            audit.record(
                audit.TOKEN_REVOKED, context=context, application=client, user=record.user,
                token_type="access_token", jti=record.jti,
            )


def _revoke_refresh_token(record: RefreshToken, client: Application, context: http.RequestContext) -> None:
    now = timezone.now()
    # An expired or revoked token has no live family left to revoke: nothing changes.
    if record.revoked_at is not None or record.family_expires_at <= now:
        return
    if record.expires_at <= now and record.used_at is None:
        return
    # A used (rotated) token is still part of a live family: revoking it ends the whole family,
    # exactly as its reuse at the token endpoint would.
    with transaction.atomic():
        revoked = revoke_refresh_family(record.family_id)
        audit.record(
            audit.TOKEN_REVOKED, context=context, application=client, user=record.user,
            token_type="refresh_token", family_id=str(record.family_id), revoked_refresh_tokens=revoked,
        )
