"""A client's pushed authorization requests (RFC 9126): stored at push time, then claimed and spent at
the authorization endpoint.

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

from oauth_provider import crypto
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidRequestUri
from oauth_provider.models import Application, PushedAuthorizationRequest

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
UNUSABLE = "The request_uri is unknown, expired or already used, or was pushed by another client."


def store_pushed_request(client: Application, parameters: dict[str, Any]) -> tuple[str, int]:
    """Keep validated parameters; (the new request_uri, its lifetime in seconds). Only its digest is stored."""
    request_uri = REQUEST_URI_PREFIX + crypto.generate_secret()
    lifetime = oauth_settings.PUSHED_AUTHORIZATION_REQUEST_LIFETIME
    PushedAuthorizationRequest.objects.create(
        request_uri_digest=crypto.digest(request_uri),
        application=client,
        parameters=parameters,
        expires_at=timezone.now() + timedelta(seconds=lifetime),
    )
    return request_uri, lifetime


def as_query(parameters: Mapping[str, Any]) -> QueryDict:
    """Stored parameters as the QueryDict the authorization endpoint validates (lists stay lists)."""
    query = QueryDict(mutable=True)
    for name, value in parameters.items():
        query.setlist(name, list(value) if isinstance(value, list) else [value])
    return query


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
