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

What is read: a JWT access token is answered from its verified claims (``jose.verify``: only our keys)
and the revoked set (``tokens.revocation.is_jti_revoked``), without reading its row: the row holds
nothing the claims do not, except ``revoked_at``, which every revocation path publishes to that set
(deactivating or deleting a client revokes all its tokens, docs/SECURITY.md S4). A user's token costs
one query for the user (``username``, and an inactive user's tokens are inactive). A refresh token is
one indexed query by digest with its user joined; it is only ever the caller's own, so the caller is
its client. The client authentication is the other query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from oauth_provider import http
from oauth_provider.clients.authentication import INTROSPECTION, authenticate_request
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidClient, InvalidRequest
from oauth_provider.models import Application, RefreshToken
from oauth_provider.oidc.subjects import subject_for_client
from oauth_provider.tokens.lookup import (
    REFRESH_TOKEN_HINT,
    access_token_user,
    find_refresh_token_with_user,
    verified_access_token_claims,
)
from oauth_provider.tokens.revocation import is_jti_revoked

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
    # By the hinted type first, then the other (RFC 7662 §2.1); a token found as one type is not tried as the other.
    if params.get("token_type_hint") == REFRESH_TOKEN_HINT:
        record = find_refresh_token_with_user(token)
        if record is not None:
            return _refresh_token_answer(caller, record)
        claims = verified_access_token_claims(token)
        return _access_token_answer(caller, claims) if claims is not None else dict(INACTIVE)
    claims = verified_access_token_claims(token)
    if claims is not None:
        return _access_token_answer(caller, claims)
    record = find_refresh_token_with_user(token)
    return _refresh_token_answer(caller, record) if record is not None else dict(INACTIVE)


def may_introspect_access_token(caller: Application, claims: Mapping[str, Any]) -> bool:
    """The introspection policy in the module docstring, for a verified access token's claims."""
    if claims["client_id"] == caller.client_id:
        return True
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    return caller.is_resource_server and any(aud in caller.served_audience_list for aud in audiences)


def is_live_access_token(claims: Mapping[str, Any], now: float) -> bool:
    """Within its times (the claims say so) and not revoked (the revoked set says so)."""
    not_before = claims.get("nbf", claims["iat"])
    if not (isinstance(not_before, int) and claims["exp"] > now >= not_before):
        return False
    return not is_jti_revoked(claims["jti"])


def _access_token_answer(caller: Application, claims: Mapping[str, Any]) -> dict[str, Any]:
    if not may_introspect_access_token(caller, claims) or not is_live_access_token(claims, timezone.now().timestamp()):
        return dict(INACTIVE)
    body: dict[str, Any] = {
        "active": True,
        "scope": claims.get("scope", ""),
        "client_id": claims["client_id"],
        "token_type": "DPoP" if _bound_jkt(claims) else "Bearer",
    }
    if claims["sub"] != claims["client_id"]:  # a user's token (RFC 9068 §2.2: a client's own has sub = client_id)
        user = access_token_user(claims["jti"])
        if user is None or not user.is_active:
            return dict(INACTIVE)
        body["username"] = user.get_username()
    for claim in ("exp", "iat", "nbf", "sub", "aud", "iss", "jti"):
        if claim in claims:
            body[claim] = claims[claim]
    jkt = _bound_jkt(claims)
    if jkt:
        # RFC 9449 §6.2: the resource server learns the key the token is bound to.
        body["cnf"] = {"jkt": jkt}
    return body


def _bound_jkt(claims: Mapping[str, Any]) -> str:
    """The DPoP key thumbprint a verified access token is bound to (its cnf.jkt, RFC 9449 §6.1), or ""."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    return jkt if isinstance(jkt, str) else ""


def _refresh_token_answer(caller: Application, record: RefreshToken) -> dict[str, Any]:
    """A refresh token is only ever visible to its own client, so ``caller`` is its (active) client."""
    now = timezone.now()
    if record.application_id != caller.pk or (record.user is not None and not record.user.is_active):
        return dict(INACTIVE)
    if record.revoked_at is not None or record.expires_at <= now or record.used_at is not None:
        return dict(INACTIVE)
    if record.family_expires_at <= now:
        return dict(INACTIVE)
    return _describe_refresh_token(record, caller)


def _describe_refresh_token(record: RefreshToken, application: Application) -> dict[str, Any]:
    """A refresh token has no JWT claims; the members come from its row. No ``token_type``:
    RFC 7662 defines it as an RFC 6749 §5.1 access token type, which a refresh token has not."""
    body: dict[str, Any] = {
        "active": True,
        "scope": record.scope,
        "client_id": application.client_id,
        "exp": int(record.expires_at.timestamp()),
        "iat": int(record.created_at.timestamp()),
        "iss": oauth_settings.ISSUER,
    }
    if record.user is not None:
        body["username"] = record.user.get_username()
        # The sub the token's client sees (its ID Tokens, UserInfo, the access token): pairwise if so registered.
        body["sub"] = subject_for_client(record.user, application)
    else:
        body["sub"] = application.client_id
    if record.dpop_jkt:
        body["cnf"] = {"jkt": record.dpop_jkt}  # a public client's refresh token bound to its key (RFC 9449 §5)
    return body
