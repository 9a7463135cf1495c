"""The token endpoint (RFC 6749 §3.2): pick the grant, authenticate the client, issue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oauth_provider import http, ratelimit
from oauth_provider.clients.authentication import TOKEN, authenticate_request
from oauth_provider.clients.resources import validate_resources
from oauth_provider.errors import InvalidRequest
from oauth_provider.grants import TokenRequest, grant_class


def handle_token_request(
    params: Mapping[str, str],
    *,
    resources: list[str] | None = None,
    authorization: str = "",
    context: http.RequestContext = http.NO_CONTEXT,
) -> dict[str, Any]:
    """Run one token request (RFC 6749 §3.2) and return the success body; errors raise OAuthError."""
    ratelimit.limit_token_requests_from(context.ip_address)
    grant_type = params.get("grant_type")
    if not grant_type:
        raise InvalidRequest("The grant_type parameter is required.")
    handler = grant_class(grant_type)
    client = authenticate_request(authorization, params, endpoint=TOKEN, context=context)
    # RFC 8707 §2.2: the resources must be registered; whether the grant covers them is the grant's check.
    named = validate_resources(list(resources or []))
    grant = handler(TokenRequest(params=params, client=client, context=context, resources=named))
    grant.check_client()
    return grant.issue()
