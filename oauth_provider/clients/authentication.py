"""Client authentication (RFC 6749 §2.3): client_secret_basic, client_secret_post and none.

Used by every endpoint that authenticates clients (token, revocation, introspection, device).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from oauth_provider import audit, http
from oauth_provider.errors import InvalidClient, InvalidRequest
from oauth_provider.models import Application

CLIENT_SECRET_BASIC = "client_secret_basic"
CLIENT_SECRET_POST = "client_secret_post"
NONE = "none"

# Methods a confidential client may use; a public client uses "none".
CONFIDENTIAL_METHODS = (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST)

BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="oauth", charset="UTF-8"'}


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
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise InvalidClient("Only HTTP Basic client authentication is supported in the Authorization header.",
                                headers=BASIC_CHALLENGE)
        client_id, client_secret = _decode_basic(value.strip())
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


def _decode_basic(value: str) -> tuple[str, str]:
    """RFC 6749 §2.3.1: both halves are form-urlencoded before Basic encoding."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidClient("Malformed HTTP Basic credentials.", headers=BASIC_CHALLENGE) from exc
    client_id, sep, client_secret = decoded.partition(":")
    client_id, client_secret = unquote_plus(client_id), unquote_plus(client_secret)
    if not sep or not client_id or "\x00" in client_id + client_secret:
        raise InvalidClient("Malformed HTTP Basic credentials.", headers=BASIC_CHALLENGE)
    return client_id, client_secret


def authenticate_client(
    credentials: ClientCredentials | None, *, context: http.RequestContext = http.NO_CONTEXT
) -> Application:
    """The active client the credentials prove, or InvalidClient (audited, without the secret).

    Confidential clients must present their secret; public clients present only their id.
    """
    if credentials is None:
        raise InvalidClient("Client authentication is required.", headers=BASIC_CHALLENGE)
    headers = BASIC_CHALLENGE if credentials.method == CLIENT_SECRET_BASIC else {}
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
