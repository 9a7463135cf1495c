"""The token endpoint's protocol logic: pick the grant, authenticate the client, issue.

Grants are looked up in ``OAUTH_PROVIDER['GRANT_TYPES']`` (grant_type → handler class), so a new
grant slots in without touching the endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import audit, ratelimit
from ..clients import authenticate_client, read_client_credentials
from ..conf import oauth_settings
from ..errors import InvalidRequest, UnsupportedGrantType
from .base import Grant, TokenRequest

__all__ = ["Grant", "TokenRequest", "grant_class", "handle_token_request"]


def grant_class(grant_type: str) -> type[Grant]:
    handler = oauth_settings.GRANT_TYPES.get(grant_type)
    if handler is None:
        raise UnsupportedGrantType(f"The grant type {grant_type!r} is not supported.")
    return handler


def handle_token_request(
    params: Mapping[str, str], *, authorization: str = "", context: audit.RequestContext = audit.NO_CONTEXT
) -> dict[str, Any]:
    """Run one token request (RFC 6749 §3.2) and return the success body; errors raise OAuthError."""
    ratelimit.limit_token_requests_from(context.ip_address)
    grant_type = params.get("grant_type")
    if not grant_type:
        raise InvalidRequest("The grant_type parameter is required.")
    handler = grant_class(grant_type)
    credentials = read_client_credentials(authorization, params)
    ratelimit.limit_token_requests_of(credentials.client_id if credentials else None)
    client = authenticate_client(credentials, context=context)
    grant = handler(TokenRequest(params=params, client=client, context=context))
    grant.check_client()
    return grant.issue()
