"""The token endpoint (RFC 6749 §3.2): pick the grant, authenticate the client, issue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oauth_provider import dpop, http
from oauth_provider.clients.authentication import TOKEN, authenticate_request
from oauth_provider.clients.resources import validate_resources
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidDPoPProof, InvalidRequest
from oauth_provider.grants import TokenRequest, grant_class
from oauth_provider.jose import DPoPProof
from oauth_provider.models import Application


def handle_token_request(
    params: Mapping[str, str],
    *,
    resources: list[str] | None = None,
    authorization: str = "",
    context: http.RequestContext = http.NO_CONTEXT,
    dpop_header: str | None = None,
    uri: str = "",
) -> dict[str, Any]:
    """Run one token request (RFC 6749 §3.2) and return the success body; errors raise OAuthError.

    ``dpop_header`` is the request's ``DPoP`` header (RFC 9449 §5) and ``uri`` the URI it must name.
    Nothing counts a successful request: failed client authentications and password logins are
    limited where they are checked (docs/SECURITY.md S27); request rates are DRF throttles on the view.
    """
    grant_type = params.get("grant_type")
    if not grant_type:
        raise InvalidRequest("The grant_type parameter is required.")
    handler = grant_class(grant_type)
    client = authenticate_request(authorization, params, endpoint=TOKEN, context=context)
    proof = token_request_proof(client, dpop_header, uri)
    # RFC 8707 §2.2: the resources must be registered; whether the grant covers them is the grant's check.
    named = validate_resources(list(resources or []))
    grant = handler(TokenRequest(params=params, client=client, context=context, dpop=proof, resources=named))
    grant.check_client()
    return grant.issue()


def token_request_proof(client: Application, header: str | None, uri: str) -> DPoPProof | None:
    """The verified DPoP proof of a token request, None without one (RFC 9449 §5).

    Checked after client authentication (an unauthenticated caller spends no replay-cache entry) and
    before the grant (a refused proof spends no code). A client registered with
    ``dpop_bound_access_tokens`` must send one (§5.2).
    """
    proof = dpop.single_proof(header)
    if proof is None:
        if client.dpop_bound_access_tokens:
            raise InvalidDPoPProof("This client requires DPoP: send a DPoP proof (RFC 9449 §5.2).")
        return None
    return dpop.verify_proof(proof, method="POST", uri=uri, require_nonce=oauth_settings.DPOP_NONCE_REQUIRED)
