"""OAuthError, one subclass per RFC error code, and the one JSON renderer for them.

Token-side errors follow RFC 6749 §5.2: a JSON object with ``error`` and optional
``error_description``, ``Cache-Control: no-store``. Descriptions are written for the client's
developer and never contain a secret or an internal detail.

An authorization-endpoint error says where it must go with ``redirect``: None shows it to the user
(the error page), a ``redirect_uris.RedirectTarget`` sends it to the client's verified redirect URI
(RFC 6749 §4.1.2.1). The HTML pages render every OAuthError; the JSON endpoints use ``error_response``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import JsonResponse

if TYPE_CHECKING:
    from oauth_provider.redirect_uris import RedirectTarget


class OAuthError(Exception):
    error = "invalid_request"
    status_code = 400
    default_description = ""
    # Where an authorization error goes: None to the user, a target to the client (see above).
    redirect: RedirectTarget | None = None

    def __init__(
        self,
        description: str | None = None,
        *,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.description = description if description is not None else self.default_description
        if status_code is not None:
            self.status_code = status_code
        self.headers = dict(headers or {})
        super().__init__(self.description or self.error)

    def as_dict(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


# --- RFC 6749 §5.2 (token endpoint) and §4.1.2.1 (authorization endpoint) ----------------------


class InvalidRequest(OAuthError):
    """Missing, repeated, malformed or unsupported parameter (RFC 6749 §5.2)."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed (RFC 6749 §5.2): 401, with WWW-Authenticate for Basic."""

    error = "invalid_client"
    status_code = 401
    default_description = "Client authentication failed."


class InvalidGrant(OAuthError):
    """The grant (code, refresh token, credentials) is invalid, expired, revoked or not this client's."""

    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    """The authenticated client may not use this grant or response type (RFC 6749 §5.2)."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class ServerError(OAuthError):
    error = "server_error"
    status_code = 500
    default_description = "The server met an unexpected condition."


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503
    default_description = "The server is temporarily unable to handle the request."


# --- RFC 8628 §3.5 (device authorization grant) -----------------------------------------------


class AuthorizationPending(OAuthError):
    error = "authorization_pending"


class SlowDown(OAuthError):
    error = "slow_down"


class ExpiredToken(OAuthError):
    error = "expired_token"


# --- RFC 6750 §3.1 (resource servers) ---------------------------------------------------------


class InvalidToken(OAuthError):
    error = "invalid_token"
    status_code = 401


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status_code = 403


class TokenRequired(OAuthError):
    """No bearer token at all: the challenge carries no error code (RFC 6750 §3.1)."""

    error = ""
    status_code = 401
    default_description = "An access token is required (Authorization: Bearer)."

    def as_dict(self) -> dict[str, str]:
        return {"detail": self.description}


# --- RFC 7591 §3.2.2 --------------------------------------------------------------------------


class InvalidRedirectUri(OAuthError):
    error = "invalid_redirect_uri"


class InvalidClientMetadata(OAuthError):
    error = "invalid_client_metadata"


# --- RFC 9449 §12.2 (DPoP) ------------------------------------------------------------------------


class InvalidDPoPProof(OAuthError):
    """The DPoP proof is missing, malformed, replayed or does not match the request (RFC 9449 §5, §7.1).

    400 at the token endpoint; the resource side answers it with 401 and a ``DPoP`` challenge.
    """

    error = "invalid_dpop_proof"


class UseDPoPNonce(OAuthError):
    """The server wants a nonce in the proof (RFC 9449 §8, §9); ``DPoP-Nonce`` carries a fresh one."""

    error = "use_dpop_nonce"
    default_description = "Use the DPoP nonce the server provides in the DPoP-Nonce header."


# --- OpenID Connect Core §3.1.2.6 (authentication errors, at the client's redirect URI) -------------


class LoginRequired(OAuthError):
    """prompt=none, and the user is not (or not freshly enough, or not the hinted user) signed in."""

    error = "login_required"


class ConsentRequired(OAuthError):
    """prompt=none, and the user has not consented to this client and scope."""

    error = "consent_required"


class InteractionRequired(OAuthError):
    """prompt=none, and the request needs a page of some other kind."""

    error = "interaction_required"


class AccountSelectionRequired(OAuthError):
    error = "account_selection_required"


class RequestNotSupported(OAuthError):
    """Core §6: this server does not accept request objects (the ``request`` parameter)."""

    error = "request_not_supported"


class RegistrationNotSupported(OAuthError):
    """Core §3.1.2.6, §7.2.1: this server does not accept the ``registration`` parameter."""

    error = "registration_not_supported"



# --- RFC 8707 §2 (resource indicators), RFC 9101 §7 (request_uri), RFC 7523 §3 (client assertions) ----


class InvalidTarget(OAuthError):
    """The requested resource is invalid, missing, unknown or malformed (RFC 8707 §2)."""

    error = "invalid_target"


class InvalidRequestUri(OAuthError):
    """The request_uri is unknown, expired, used or not the client's (RFC 9101 §7, RFC 9126 §4)."""

    error = "invalid_request_uri"


class RejectedClientAssertion(InvalidClient):
    """A client assertion failed a rule of RFC 7523 §3; ``reason`` is for the audit trail only, the
    client is told no more than for any other failed client authentication (RFC 6749 §5.2)."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def json_response(body: dict, status: int = 200, headers: dict[str, str] | None = None) -> JsonResponse:
    """A JSON answer that no cache may keep (RFC 6749 §5.1)."""
    response = JsonResponse(body, status=status)
    for name, value in {**NO_STORE_HEADERS, **(headers or {})}.items():
        response[name] = value
    return response


def error_response(error: OAuthError) -> JsonResponse:
    """The one renderer of OAuthError as JSON."""
    return json_response(error.as_dict(), status=error.status_code, headers=error.headers)
