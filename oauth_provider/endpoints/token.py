"""The token endpoint (RFC 6749 §3.2): pick the grant, authenticate the client, issue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oauth_provider import http
from oauth_provider.clients.authentication import TOKEN, authenticate_request
from oauth_provider.errors import InvalidRequest
from oauth_provider.grants import TokenRequest, grant_class


def handle_token_request(
    params: Mapping[str, str], *, authorization: str = "", context: http.RequestContext = http.NO_CONTEXT
) -> dict[str, Any]:
    """Run one token request (RFC 6749 §3.2) and return the success body; errors raise OAuthError.

    Nothing counts a successful request: failed client authentications and password logins are
    limited where they are checked (docs/SECURITY.md S27); request rates are DRF throttles on the view.
    """
    grant_type = params.get("grant_type")
    if not grant_type:
        raise InvalidRequest("The grant_type parameter is required.")
    handler = grant_class(grant_type)
    client = authenticate_request(authorization, params, endpoint=TOKEN, context=context)
    grant = handler(TokenRequest(params=params, client=client, context=context))
    grant.check_client()
    return grant.issue()
