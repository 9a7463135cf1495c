"""Pushed authorization requests (RFC 9126): the PAR endpoint, and what the authorization endpoint
does with a ``request_uri``.

Push (§2): the client authenticates as at the token endpoint and POSTs the authorization request's
parameters. They are validated at once, by the authorization endpoint's own validation, so the
client hears about a bad redirect URI, scope, PKCE or response type as JSON instead of in a
browser. The answer is ``201`` with a ``request_uri`` (``urn:ietf:params:oauth:request_uri:`` and 256
random bits, stored only as a digest) and ``expires_in`` (PUSHED_AUTHORIZATION_REQUEST_LIFETIME).

Use (§4): the browser arrives at the authorization endpoint with ``client_id`` and ``request_uri``
only. The pushed parameters are the request; anything else in the query is ignored (RFC 9101 §5, to
which §4 defers), except ``client_id``, which must name the client that pushed it. The first browser
to arrive claims the request (one conditional UPDATE, so of concurrent arrivals one wins); it keeps a
claim secret in its session, so it may reload the page or log in first (§4 allows duplicate requests
of one user agent) for PUSHED_AUTHORIZATION_REQUEST_INTERACTION_SECONDS, while any other browser is
refused. The user's decision spends it (a second conditional UPDATE): one request, one code.
Unknown, expired, used, claimed-elsewhere or another client's request_uris are refused with an
error page, never a redirect: there is no verified redirect URI to send the error to.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.http import QueryDict
from django.utils import timezone

from oauth_provider import crypto, http, ratelimit
from oauth_provider.clients.authentication import authenticate_client, read_client_credentials
from oauth_provider.clients.resources import validate_resources
from oauth_provider.conf import oauth_settings
from oauth_provider.endpoints.authorize import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    validate_authorization_request,
)
from oauth_provider.errors import InvalidRequest, InvalidRequestUri
from oauth_provider.models import Application, PushedAuthorizationRequest

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
# Client authentication parameters: they authenticate the push and are not part of the request.
CLIENT_AUTH_PARAMETERS = ("client_secret", "client_assertion", "client_assertion_type")
UNUSABLE = "The request_uri is unknown, expired or already used, or was pushed by another client."


def push_authorization_request(
    params: Mapping[str, str],
    *,
    resources: list[str] | None = None,
    authorization: str = "",
    context: http.RequestContext = http.NO_CONTEXT,
) -> dict[str, Any]:
    """Handle one push (RFC 9126 §2.1) and return the §2.2 body; errors raise OAuthError (§2.3)."""
    ratelimit.limit_token_requests_from(context.ip_address)
    credentials = read_client_credentials(authorization, params)
    ratelimit.limit_token_requests_of(credentials.client_id if credentials else None)
    client = authenticate_client(credentials, context=context)
    if "request_uri" in params:
        raise InvalidRequest("request_uri must not be pushed (RFC 9126 §2.1).")
    if "request" in params:
        raise InvalidRequest("Request objects are not supported; push the parameters themselves.")
    request = {k: v for k, v in params.items() if k not in CLIENT_AUTH_PARAMETERS}
    request["client_id"] = client.client_id
    stored: dict[str, Any] = dict(request)
    if resources:
        stored["resource"] = validate_resources(resources)
    validate_pushed_parameters(stored)
    request_uri = REQUEST_URI_PREFIX + crypto.generate_secret()
    lifetime = oauth_settings.PUSHED_AUTHORIZATION_REQUEST_LIFETIME
    PushedAuthorizationRequest.objects.create(
        request_uri_digest=crypto.digest(request_uri),
        application=client,
        parameters=stored,
        expires_at=timezone.now() + timedelta(seconds=lifetime),
    )
    return {"request_uri": request_uri, "expires_in": lifetime}


def as_query(parameters: Mapping[str, Any]) -> QueryDict:
    """Stored parameters as the QueryDict the authorization endpoint validates (lists stay lists)."""
    query = QueryDict(mutable=True)
    for name, value in parameters.items():
        query.setlist(name, list(value) if isinstance(value, list) else [value])
    return query


def validate_pushed_parameters(parameters: Mapping[str, Any]) -> None:
    """The authorization endpoint's validation, with its errors as JSON errors (RFC 9126 §2.3)."""
    try:
        validate_authorization_request(as_query(parameters))
    except AuthorizationPageError as exc:
        # The client is authenticated, so what the page would show is a flaw in the request.
        raise InvalidRequest(exc.description) from exc
    except AuthorizationRedirectError as exc:
        raise exc.error from exc


# --- at the authorization endpoint (RFC 9126 §4) -------------------------------------------------


def is_pushed_request_uri(value: str | None) -> bool:
    return bool(value) and value.startswith(REQUEST_URI_PREFIX)


def claim_pushed_request(
    client: Application, request_uri: str, claim: str | None
) -> tuple[PushedAuthorizationRequest, str]:
    """The pushed request ``request_uri`` names, for the browser holding ``claim`` (None: first arrival).

    Returns the row and the claim secret the browser keeps; InvalidRequestUri when it cannot be used.
    """
    digest = crypto.digest(request_uri)
    pushed = PushedAuthorizationRequest.objects.filter(request_uri_digest=digest).first()
    if pushed is None or pushed.application_id != client.pk or pushed.used_at is not None:
        raise InvalidRequestUri(UNUSABLE)
    now = timezone.now()
    if pushed.claimed_at is not None:
        window = timedelta(seconds=oauth_settings.PUSHED_AUTHORIZATION_REQUEST_INTERACTION_SECONDS)
        mine = claim is not None and crypto.matches_digest(claim, pushed.claim_digest)
        if not mine or pushed.claimed_at + window <= now:
            raise InvalidRequestUri(UNUSABLE)
        return pushed, claim
    new_claim = crypto.generate_secret()
    won = PushedAuthorizationRequest.objects.filter(
        pk=pushed.pk, claimed_at__isnull=True, used_at__isnull=True, expires_at__gt=now
    ).update(claimed_at=now, claim_digest=crypto.digest(new_claim))
    if not won:
        raise InvalidRequestUri(UNUSABLE)  # expired, or another browser claimed it first
    pushed.claimed_at, pushed.claim_digest = now, crypto.digest(new_claim)
    return pushed, new_claim


def spend_pushed_request(pushed: PushedAuthorizationRequest, claim: str) -> None:
    """Mark the request used by the user's decision; of concurrent decisions exactly one succeeds."""
    won = PushedAuthorizationRequest.objects.filter(
        pk=pushed.pk, used_at__isnull=True, claim_digest=crypto.digest(claim)
    ).update(used_at=timezone.now())
    if not won:
        raise InvalidRequestUri(UNUSABLE)
