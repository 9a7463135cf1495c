"""The pushed authorization request endpoint (RFC 9126 §2). What happens to a ``request_uri`` at the
authorization endpoint (§4) is ``clients/pushed_requests.py``.

Push (§2): the client authenticates as at the token endpoint and POSTs the authorization request's
parameters. They are validated at once, by the authorization endpoint's own validation, so the
client hears about a bad redirect URI, scope, PKCE or response type as JSON instead of in a
browser. The answer is ``201`` with a ``request_uri`` (``urn:ietf:params:oauth:request_uri:`` and 256
random bits, stored only as a digest) and ``expires_in`` (PUSHED_AUTHORIZATION_REQUEST_LIFETIME).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oauth_provider import http
from oauth_provider.clients.authentication import PUSHED_AUTHORIZATION, authenticate_request
from oauth_provider.clients.pushed_requests import as_query, store_pushed_request
from oauth_provider.endpoints.authorize import validate_authorization_request
from oauth_provider.errors import InvalidRequest, OAuthError

# Client authentication parameters: they authenticate the push and are not part of the request.
CLIENT_AUTH_PARAMETERS = ("client_secret", "client_assertion", "client_assertion_type")


def push_authorization_request(
    params: Mapping[str, str],
    *,
    resources: list[str] | None = None,
    authorization: str = "",
    context: http.RequestContext = http.NO_CONTEXT,
) -> dict[str, Any]:
    """Handle one push (RFC 9126 §2.1) and return the §2.2 body; errors raise OAuthError (§2.3)."""
    client = authenticate_request(authorization, params, endpoint=PUSHED_AUTHORIZATION, context=context)
    if "request_uri" in params:
        raise InvalidRequest("request_uri must not be pushed (RFC 9126 §2.1).")
    if "request" in params:
        raise InvalidRequest("Request objects are not supported; push the parameters themselves.")
    request = {k: v for k, v in params.items() if k not in CLIENT_AUTH_PARAMETERS}
    request["client_id"] = client.client_id
    stored: dict[str, Any] = dict(request)
    if resources:
        stored["resource"] = resources
    validate_pushed_parameters(stored)
    request_uri, lifetime = store_pushed_request(client, stored)
    return {"request_uri": request_uri, "expires_in": lifetime}


def validate_pushed_parameters(parameters: Mapping[str, Any]) -> None:
    """The authorization endpoint's validation, with its errors as JSON errors (RFC 9126 §2.3)."""
    try:
        validate_authorization_request(as_query(parameters), pushed=True)
    except OAuthError as error:
        error.redirect = None  # the client hears it here, as JSON, not at its redirect URI
        error.status_code = 400 if error.status_code == 401 else error.status_code
        raise
