"""The one place that builds resource-side error answers (RFC 6750 §3, RFC 9449 §7.1).

- no token at all: 401 with a bare challenge (no error code, RFC 6750 §3.1);
- ``invalid_request`` (malformed header, token in two places or in the query string): 400;
- ``invalid_token`` (expired, bad signature, wrong audience, ...): 401;
- ``insufficient_scope``: 403 with the ``scope`` the request needs;
- ``invalid_dpop_proof`` and ``use_dpop_nonce`` (RFC 9449 §7.1, §9): 401, the latter with a fresh
  ``DPoP-Nonce`` header.

Challenges name the scheme the request used: errors of an ``Authorization: DPoP`` request (the error
carries ``scheme = "DPoP"``) get ``DPoP realm="api", error="...", algs="..."``. The bare challenge
offers both schemes (``Bearer realm="api", DPoP realm="api", algs="ES256 ..."``), or only DPoP where a
view requires it (``dpop_required``). Every challenge is built by ``http.www_authenticate``.

Every error has a JSON body and a ``WWW-Authenticate`` challenge. Django views get a JsonResponse
from ``challenge_response``; DRF views get an ``OAuthAPIException`` that DRF's default exception
handler renders into the same status, body and headers.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from rest_framework.exceptions import APIException

from oauth_provider import dpop, http
from oauth_provider.conf import oauth_settings
from oauth_provider.dpop import TOKEN_TYPE as DPOP_SCHEME
from oauth_provider.errors import InsufficientScope, InvalidToken, OAuthError, TokenRequired
from oauth_provider.scopes import scope_string

__all__ = ["OAuthAPIException", "TokenRequired", "challenge_response", "insufficient_scope", "www_authenticate"]

BEARER_SCHEME = "Bearer"


def insufficient_scope(required: list[str] | tuple[str, ...]) -> InsufficientScope:
    """The 403 for a token that lacks some of ``required`` (RFC 6750 §3.1)."""
    error = InsufficientScope("The access token lacks a scope this request needs.")
    error.required_scopes = tuple(required)
    return error


def dpop_required_error() -> InvalidToken:
    """A token that is not DPoP-bound (or sent as Bearer) at a view that requires DPoP."""
    error = InvalidToken("This API requires a DPoP-bound access token (Authorization: DPoP and a DPoP proof).")
    error.scheme = DPOP_SCHEME
    return error


def _challenge(scheme: str, error: OAuthError | None = None) -> str:
    params: dict[str, str | None] = {}
    if error is not None and error.error:
        required = getattr(error, "required_scopes", None)
        params = {"error": error.error, "error_description": error.description,
                  "scope": scope_string(required) if required else None}
    if scheme == DPOP_SCHEME:
        # RFC 9449 §7.1: the algorithms the server accepts for proofs.
        params["algs"] = " ".join(oauth_settings.DPOP_SIGNING_ALGORITHMS)
    return http.www_authenticate(scheme, **params)


def www_authenticate(error: OAuthError | None = None, *, dpop_required: bool = False) -> str:
    """The ``WWW-Authenticate`` challenge for ``error`` (None or TokenRequired: a bare challenge)."""
    if error is None or not error.error:
        schemes = (DPOP_SCHEME,) if dpop_required else (BEARER_SCHEME, DPOP_SCHEME)
        return ", ".join(_challenge(scheme) for scheme in schemes)
    scheme = getattr(error, "scheme", None) or (DPOP_SCHEME if dpop_required else BEARER_SCHEME)
    return _challenge(scheme, error)


def challenge(error: OAuthError, *, dpop_required: bool = False) -> str | None:
    """The challenge for the RFC 6750 answers (400, 401, 403); none for e.g. a 503."""
    return www_authenticate(error, dpop_required=dpop_required) if error.status_code in (400, 401, 403) else None


def error_headers(error: OAuthError, *, dpop_required: bool = False) -> dict[str, str]:
    header = challenge(error, dpop_required=dpop_required)
    return {**({"WWW-Authenticate": header} if header else {}), **error.headers}


def challenge_response(error: OAuthError, *, dpop_required: bool = False) -> JsonResponse:
    """The JSON answer, status and challenge for a resource-side error (plain Django views).

    Not ``errors.error_response``: a resource server's answer carries the RFC 6750 §3 challenge
    and no ``no-store`` headers (it answers about the request, not with a token), and a missing
    token has a ``detail`` body instead of an error code."""
    response = JsonResponse(error.as_dict(), status=error.status_code)
    for name, value in error_headers(error, dpop_required=dpop_required).items():
        response[name] = value
    return response


def success_headers(request: Any) -> dict[str, str]:
    """Headers of a successful answer to a DPoP request: the current nonce when APIs require nonces
    (RFC 9449 §9), so a client follows its rotation without a ``use_dpop_nonce`` round trip."""
    django_request = getattr(request, "_request", request)
    if getattr(django_request, "oauth_dpop", None) is not None and oauth_settings.RESOURCE_DPOP_NONCE_REQUIRED:
        return dpop.nonce_headers()
    return {}


def raise_for_drf(request: Any, error: OAuthError, *, dpop_required: bool = False) -> None:
    """Raise ``error`` for DRF. Its handler copies only the challenge, so other headers of the error
    (a fresh ``DPoP-Nonce``, RFC 9449 §9) go on the view's response headers, which DRF always applies."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if error.headers and view is not None and isinstance(getattr(view, "headers", None), dict):
        view.headers.update(error.headers)
    raise OAuthAPIException(error, dpop_required=dpop_required)


class OAuthAPIException(APIException):
    """An OAuthError for DRF: its default exception handler renders our body and headers.

    ``auth_header`` is the attribute DRF's handler copies into ``WWW-Authenticate``; it is not a
    NotAuthenticated subclass, so DRF does not replace the challenge with its own.
    """

    def __init__(self, error: OAuthError, *, dpop_required: bool = False) -> None:
        self.oauth_error = error
        self.status_code = error.status_code
        self.auth_header = challenge(error, dpop_required=dpop_required)
        super().__init__(detail=error.as_dict(), code=error.error or "not_authenticated")
