"""Client authentication (RFC 6749 §2.3): client_secret_basic, client_secret_post and none.

Every endpoint that authenticates clients (token, revocation, introspection, device) calls
``authenticate_request``: read the credentials, count the attempt against the failure limits where
that is switched on, authenticate, audit a failure. The registration endpoints count their tokens
with ``counting_failures`` (docs/SECURITY.md S27).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from oauth_provider import audit, http, ratelimit
from oauth_provider.errors import InvalidClient, InvalidRequest, InvalidToken
from oauth_provider.models import Application

CLIENT_SECRET_BASIC = "client_secret_basic"
CLIENT_SECRET_POST = "client_secret_post"
NONE = "none"

# Methods a confidential client may use; a public client uses "none".
CONFIDENTIAL_METHODS = (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST)

# The endpoints whose failed client authentications are limited, per claimed client_id and per
# address, counted before the secret is checked (docs/SECURITY.md S27; ``ratelimit.FailureBudget``).
# This set is the one switch: every endpoint that authenticates clients, and the registration
# endpoints' tokens (RFC 7591 initial access tokens, RFC 7592 registration access tokens).
TOKEN, REVOCATION, INTROSPECTION, DEVICE_AUTHORIZATION = "token", "revocation", "introspection", "device"
REGISTRATION = "registration"
RATE_LIMITED_ENDPOINTS = frozenset({TOKEN, REVOCATION, INTROSPECTION, DEVICE_AUTHORIZATION, REGISTRATION})


@dataclass(frozen=True)
class ClientCredentials:
    """What a request presented to identify its client."""

    client_id: str
    client_secret: str | None
    method: str


def read_client_credentials(authorization: str, params: Mapping[str, str]) -> ClientCredentials | None:
    """Extract the client's credentials from the Authorization header or the body.

    Returns None when the request names no client. Using two methods at once is an error
    (RFC 6749 §2.3: "MUST NOT use more than one authentication method in each request").
    """
    body_id = params.get("client_id")
    body_secret = params.get("client_secret")
    basic = http.basic_credentials(authorization)
    if basic is not None:
        client_id, client_secret = basic
        if body_secret is not None:
            raise InvalidRequest("Use one client authentication method, not Basic and client_secret both.")
        if body_id is not None and body_id != client_id:
            raise InvalidRequest("client_id in the body does not match the Authorization header.")
        return ClientCredentials(client_id, client_secret, CLIENT_SECRET_BASIC)
    if body_id is None:
        if body_secret is not None:
            raise InvalidRequest("client_secret was sent without client_id.")
        return None
    if body_secret is not None:
        return ClientCredentials(body_id, body_secret, CLIENT_SECRET_POST)
    return ClientCredentials(body_id, None, NONE)


def authenticate_request(
    authorization: str, params: Mapping[str, str], *, endpoint: str, context: http.RequestContext = http.NO_CONTEXT
) -> Application:
    """The one client-authentication entry point: read the credentials of a request (its
    ``Authorization`` header and body ``params``), count the attempt against the failure limits
    when ``endpoint`` is in ``RATE_LIMITED_ENDPOINTS``, and authenticate (audited on failure).

    A request that names no client guesses nothing and is not counted; a success is not counted.
    """
    credentials = read_client_credentials(authorization, params)
    if credentials is None:
        return authenticate_client(credentials, context=context)
    with counting_failures(credentials.client_id, context, endpoint=endpoint):
        return authenticate_client(credentials, context=context)


@contextmanager
def counting_failures(client_id: str | None, context: http.RequestContext, *, endpoint: str) -> Iterator[None]:
    """Run a client credential check (``InvalidClient`` or ``InvalidToken`` on failure) as one attempt
    of ``ratelimit.client_authentication_failures``: counted before the block runs, per claimed
    ``client_id`` (None: an initial access token, which names no client) and per address; refused
    with 429 before it runs when over a limit; not counted when the block succeeds."""
    if endpoint not in RATE_LIMITED_ENDPOINTS:
        yield
        return
    description = ratelimit.TOO_MANY_TOKEN_REQUESTS if endpoint == TOKEN else ratelimit.TOO_MANY_REQUESTS
    with ratelimit.client_authentication_failures().attempt(
        client_id,
        context,
        failure=(InvalidClient, InvalidToken),
        refusal=lambda retry_after: ratelimit.too_many_requests(retry_after, description),
        client_id=(client_id or "")[:100],
        endpoint=endpoint,
    ):
        yield


def authenticate_client(
    credentials: ClientCredentials | None, *, context: http.RequestContext = http.NO_CONTEXT
) -> Application:
    """The active client the credentials prove, or InvalidClient (audited, without the secret).

    Confidential clients must present their secret; public clients present only their id.
    """
    if credentials is None:
        raise InvalidClient("Client authentication is required.", headers=http.basic_challenge())
    headers = http.basic_challenge() if credentials.method == CLIENT_SECRET_BASIC else {}
    # client_id is unique: no ORDER BY (Meta.ordering would add one), which the SQL compiler charges per request.
    application = next(iter(Application.objects.filter(client_id=credentials.client_id).order_by()[:1]), None)
    reason = _failure_reason(application, credentials)
    if reason is not None:
        audit.record(
            audit.CLIENT_AUTH_FAILED,
            context=context,
            application=application,
            client_id=credentials.client_id,
            reason=reason,
            method=credentials.method,
        )
        raise InvalidClient(headers=headers)
    return application


def _failure_reason(application: Application | None, credentials: ClientCredentials) -> str | None:
    if application is None:
        return "unknown_client"
    if not application.is_active:
        return "inactive_client"
    if application.is_confidential:
        if credentials.method == NONE:
            return "missing_secret"
        if not application.check_secret(credentials.client_secret or ""):
            return "wrong_secret"
    elif credentials.method != NONE:
        return "public_client_sent_secret"
    return None
