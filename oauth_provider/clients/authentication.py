"""Client authentication (RFC 6749 §2.3): client_secret_basic, client_secret_post, private_key_jwt
(RFC 7523 §2.2, ``clients/assertion.py``) and none.

Every endpoint that authenticates clients (token, revocation, introspection, device, PAR) calls
``authenticate_request``: read the credentials, count the attempt against the failure limits where
that is switched on, authenticate, audit a failure. The registration endpoints count their tokens
with ``counting_failures`` (docs/SECURITY.md S27).

A client registered for ``private_key_jwt`` must use it (it has no secret), and only such a client may.
``client_secret_jwt`` is not offered: it needs the secret itself, and only its digest is stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connections, router

from oauth_provider import audit, http, ratelimit
from oauth_provider.clients.assertion import (
    CLIENT_ASSERTION_TYPE,
    PRIVATE_KEY_JWT,
    assertion_subject,
    verify_client_assertion,
)
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidClient, InvalidRequest, InvalidToken, RejectedClientAssertion
from oauth_provider.models import Application

CLIENT_SECRET_BASIC = "client_secret_basic"
CLIENT_SECRET_POST = "client_secret_post"
NONE = "none"

# Methods a confidential client may use; a public client uses "none".
CONFIDENTIAL_METHODS = (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, PRIVATE_KEY_JWT)

# The endpoints whose failed client authentications are limited, per claimed client_id and per
# address, counted before the secret is checked (docs/SECURITY.md S27; ``ratelimit.FailureBudget``).
# This set is the one switch: every endpoint that authenticates clients, and the registration
# endpoints' tokens (RFC 7591 initial access tokens, RFC 7592 registration access tokens).
TOKEN, REVOCATION, INTROSPECTION, DEVICE_AUTHORIZATION = "token", "revocation", "introspection", "device"
PUSHED_AUTHORIZATION = "pushed_authorization"
REGISTRATION = "registration"
# Where failed client authentications are counted (docs/SECURITY.md S27); the PAR endpoint authenticates
# clients as the token endpoint does (RFC 9126 §2), with the same limits.
RATE_LIMITED_ENDPOINTS = frozenset(
    {TOKEN, REVOCATION, INTROSPECTION, DEVICE_AUTHORIZATION, REGISTRATION, PUSHED_AUTHORIZATION}
)
# Each endpoint's URL name: a client assertion may name the endpoint it is sent to as its aud.
ENDPOINT_URL_NAMES = {
    TOKEN: "token",
    REVOCATION: "revoke",
    INTROSPECTION: "introspect",
    DEVICE_AUTHORIZATION: "device_authorization",
    PUSHED_AUTHORIZATION: "pushed_authorization_request",
}


@dataclass(frozen=True)
class ClientCredentials:
    """What a request presented to identify its client."""

    client_id: str
    client_secret: str | None
    method: str
    assertion: str | None = None


def read_client_credentials(authorization: str, params: Mapping[str, str]) -> ClientCredentials | None:
    """Extract the client's credentials from the Authorization header or the body.

    Returns None when the request names no client. Using two methods at once is an error
    (RFC 6749 §2.3: "MUST NOT use more than one authentication method in each request").
    """
    body_id = params.get("client_id")
    body_secret = params.get("client_secret")
    basic = http.basic_credentials(authorization)
    if "client_assertion" in params or "client_assertion_type" in params:
        if basic is not None or body_secret is not None:
            raise InvalidRequest("Use one client authentication method, not a client assertion and a secret.")
        return _assertion_credentials(params, body_id)
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


def _assertion_credentials(params: Mapping[str, str], body_id: str | None) -> ClientCredentials:
    """RFC 7521 §4.2: client_assertion_type and client_assertion; client_id optional (the assertion's sub)."""
    assertion = params.get("client_assertion")
    if assertion is None or params.get("client_assertion_type") is None:
        raise InvalidRequest("client_assertion and client_assertion_type are sent together.")
    if params["client_assertion_type"] != CLIENT_ASSERTION_TYPE:
        raise InvalidClient(f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}.")
    client_id = body_id or assertion_subject(assertion)
    if not client_id:
        raise InvalidClient("The client assertion names no client.")
    return ClientCredentials(client_id, None, PRIVATE_KEY_JWT, assertion)


def assertion_audiences(endpoint: str) -> list[str]:
    """What a client assertion sent to ``endpoint`` may name as ``aud``: the issuer, the token endpoint
    (OIDC Core §9) and the endpoint itself (RFC 7523 §3 item 3, RFC 9126 §2)."""
    urls = [http.endpoint_url("token"), http.endpoint_url(ENDPOINT_URL_NAMES.get(endpoint, endpoint))]
    return list(dict.fromkeys([oauth_settings.ISSUER, *(url for url in urls if url)]))


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
        return authenticate_client(credentials, context=context, endpoint=endpoint)
    with counting_failures(credentials.client_id, context, endpoint=endpoint):
        return authenticate_client(credentials, context=context, endpoint=endpoint)


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
    credentials: ClientCredentials | None, *, context: http.RequestContext = http.NO_CONTEXT, endpoint: str = TOKEN
) -> Application:
    """The active client the credentials prove, or InvalidClient (audited, without the secret).

    Confidential clients must present their secret; public clients present only their id.
    """
    if credentials is None:
        raise InvalidClient("Client authentication is required.", headers=http.basic_challenge())
    headers = http.basic_challenge() if credentials.method == CLIENT_SECRET_BASIC else {}
    application = find_client(credentials.client_id)
    reason = _failure_reason(application, credentials, endpoint)
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


# The SQL of the client look-up, per (database alias, vendor): compiled by the ORM on first use.
_CLIENT_QUERIES: dict[tuple[str, str], str] = {}
_CLIENT_ID_MARK = "client-id"


def find_client(client_id: str) -> Application | None:
    """The client named ``client_id`` (active or not), or None: one indexed SELECT of every column.

    Every token, introspection, revocation and device request starts with this look-up, and Django
    compiles a queryset's SQL again on every execution (about half the look-up's cost in process). The
    statement never changes, so the ORM compiles ``filter(client_id=...).order_by()[:1]`` once per
    database and each request runs that same SQL with the client id as its only parameter; the row
    becomes an ``Application`` exactly as a queryset's would (``raw`` maps every column, nothing deferred).
    client_id is unique: no ORDER BY (Meta.ordering would add one).
    """
    alias = router.db_for_read(Application)
    key = (alias, connections[alias].vendor)
    sql = _CLIENT_QUERIES.get(key)
    if sql is None:
        queryset = Application.objects.using(alias).filter(client_id=_CLIENT_ID_MARK).order_by()[:1]
        sql, _ = queryset.query.get_compiler(using=alias).as_sql()  # one parameter: the client id
        _CLIENT_QUERIES[key] = sql
    return next(iter(Application.objects.db_manager(alias).raw(sql, [client_id])), None)


def _failure_reason(application: Application | None, credentials: ClientCredentials, endpoint: str) -> str | None:
    if application is None:
        return "unknown_client"
    if not application.is_active:
        return "inactive_client"
    if credentials.method == PRIVATE_KEY_JWT or application.uses_private_key_jwt:
        return _assertion_failure(application, credentials, endpoint)
    if application.is_confidential:
        if credentials.method == NONE:
            return "missing_secret"
        if not application.check_secret(credentials.client_secret or ""):
            return "wrong_secret"
    elif credentials.method != NONE:
        return "public_client_sent_secret"
    return None


def _assertion_failure(application: Application, credentials: ClientCredentials, endpoint: str) -> str | None:
    if credentials.method != PRIVATE_KEY_JWT:
        return "private_key_jwt_required"
    if not application.uses_private_key_jwt:
        return "private_key_jwt_not_registered"
    try:
        verify_client_assertion(application, credentials.assertion or "", audiences=assertion_audiences(endpoint))
    except RejectedClientAssertion as exc:
        return exc.reason
    return None
