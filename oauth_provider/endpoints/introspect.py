"""Token introspection (RFC 7662): whether a token is active, and what it allows.

Who may introspect what (see the README):
- Only confidential clients, authenticated with their secret (RFC 7662 §2.1 requires
  authorization; a public client proves nothing). A public client gets 401 ``invalid_client``.
- A client may introspect the access and refresh tokens issued to itself.
- A client marked ``is_resource_server`` may also introspect any access token whose ``aud`` is an
  audience it serves (its ``resource_audiences``; empty means the server's default audience).
  Refresh tokens are only ever visible to the client they were issued to.
Anything else (unknown, forged, expired, revoked, rotated, issued to a deactivated client or user,
or not the caller's to see) is ``{"active": false}`` and nothing more (§2.2), so the answer leaks
nothing about tokens the caller may not see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from oauth_provider import http
from oauth_provider.clients.authentication import INTROSPECTION, authenticate_request
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidClient, InvalidRequest
from oauth_provider.models import AccessToken, Application, RefreshToken
from oauth_provider.tokens.issue import subject_for
from oauth_provider.tokens.lookup import FoundToken, find_token

INACTIVE: dict[str, Any] = {"active": False}


def introspect_token(
    params: Mapping[str, str], *, authorization: str = "", context: http.RequestContext = http.NO_CONTEXT
) -> dict[str, Any]:
    """Handle one introspection request (RFC 7662 §2.1) and return the response body (§2.2)."""
    caller = authenticate_request(authorization, params, endpoint=INTROSPECTION, context=context)
    if not caller.is_confidential:
        raise InvalidClient("Introspection needs a confidential client authenticated with its secret.")
    token = params.get("token")
    if not token:
        raise InvalidRequest("The token parameter is required.")
    found = find_token(token, params.get("token_type_hint"))
    if found is None or not may_introspect(caller, found) or not is_active(found):
        return dict(INACTIVE)
    if found.is_access_token:
        return _describe_access_token(found.record, found.claims)
    return _describe_refresh_token(found.record)


def may_introspect(caller: Application, found: FoundToken) -> bool:
    """The introspection policy in the module docstring."""
    record = found.record
    if record.application_id == caller.pk:
        return True
    return found.is_access_token and caller.is_resource_server and record.audience in caller.served_audience_list


def is_active(found: FoundToken) -> bool:
    record = found.record
    now = timezone.now()
    if not record.application.is_active or (record.user is not None and not record.user.is_active):
        return False
    if record.revoked_at is not None or record.expires_at <= now:
        return False
    if found.is_access_token:
        claims = found.claims
        not_before = claims.get("nbf", claims["iat"])
        return isinstance(not_before, int) and claims["exp"] > now.timestamp() >= not_before
    return record.used_at is None and record.family_expires_at > now


def _describe_access_token(record: AccessToken, claims: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "active": True,
        "scope": record.scope,
        "client_id": record.application.client_id,
        "token_type": "Bearer",
    }
    if record.user is not None:
        body["username"] = record.user.get_username()
    for claim in ("exp", "iat", "nbf", "sub", "aud", "iss", "jti"):
        if claim in claims:
            body[claim] = claims[claim]
    return body


def _describe_refresh_token(record: RefreshToken) -> dict[str, Any]:
    """A refresh token has no JWT claims; the members come from its row. No ``token_type``:
    RFC 7662 defines it as an RFC 6749 §5.1 access token type, which a refresh token has not."""
    body: dict[str, Any] = {
        "active": True,
        "scope": record.scope,
        "client_id": record.application.client_id,
        "exp": int(record.expires_at.timestamp()),
        "iat": int(record.created_at.timestamp()),
        "iss": oauth_settings.ISSUER,
    }
    if record.user is not None:
        body["username"] = record.user.get_username()
        body["sub"] = subject_for(record.user)
    else:
        body["sub"] = record.application.client_id
    return body
