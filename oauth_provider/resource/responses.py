"""The one place that builds resource-side error answers (RFC 6750 §3).

- no token at all: 401 with a bare ``WWW-Authenticate: Bearer realm="..."`` (no error code, §3.1);
- ``invalid_request`` (malformed header, token in two places or in the query string): 400;
- ``invalid_token`` (expired, bad signature, wrong audience, ...): 401;
- ``insufficient_scope``: 403 with the ``scope`` the request needs.

Every error has a JSON body and a ``WWW-Authenticate`` challenge. Django views get a JsonResponse
from ``challenge_response``; DRF views get an ``OAuthAPIException`` that DRF's default exception
handler renders into the same status, body and headers.
"""

from __future__ import annotations

from django.http import JsonResponse
from rest_framework.exceptions import APIException

from oauth_provider import http
from oauth_provider.errors import InsufficientScope, OAuthError, TokenRequired
from oauth_provider.scopes import scope_string

__all__ = ["OAuthAPIException", "TokenRequired", "challenge_response", "insufficient_scope", "www_authenticate"]


def insufficient_scope(required: list[str] | tuple[str, ...]) -> InsufficientScope:
    """The 403 for a token that lacks some of ``required`` (RFC 6750 §3.1)."""
    error = InsufficientScope("The access token lacks a scope this request needs.")
    error.required_scopes = tuple(required)
    return error


def www_authenticate(error: OAuthError | None = None) -> str:
    """The ``WWW-Authenticate`` challenge for ``error`` (None or TokenRequired: a bare challenge)."""
    if error is None or not error.error:
        return http.www_authenticate("Bearer")
    required = getattr(error, "required_scopes", None)
    return http.www_authenticate(
        "Bearer", error=error.error, error_description=error.description,
        scope=scope_string(required) if required else None,
    )


def challenge(error: OAuthError) -> str | None:
    """The challenge for the RFC 6750 answers (400, 401, 403); none for e.g. a 503."""
    return www_authenticate(error) if error.status_code in (400, 401, 403) else None


def error_headers(error: OAuthError) -> dict[str, str]:
    header = challenge(error)
    return {**({"WWW-Authenticate": header} if header else {}), **error.headers}


def challenge_response(error: OAuthError) -> JsonResponse:
    """The JSON answer, status and challenge for a resource-side error (plain Django views).

    Not ``errors.error_response``: a resource server's answer carries the RFC 6750 §3 challenge
    and no ``no-store`` headers (it answers about the request, not with a token), and a missing
    token has a ``detail`` body instead of an error code."""
    response = JsonResponse(error.as_dict(), status=error.status_code)
    for name, value in error_headers(error).items():
        response[name] = value
    return response


class OAuthAPIException(APIException):
    """An OAuthError for DRF: its default exception handler renders our body and headers.

    ``auth_header`` is the attribute DRF's handler copies into ``WWW-Authenticate``; it is not a
    NotAuthenticated subclass, so DRF does not replace the challenge with its own.
    """

    def __init__(self, error: OAuthError) -> None:
        self.oauth_error = error
        self.status_code = error.status_code
        self.auth_header = challenge(error)
        super().__init__(detail=error.as_dict(), code=error.error or "not_authenticated")
