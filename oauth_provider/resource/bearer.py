"""Finding the bearer token of a request (RFC 6750 §2) and validating it once per request.

Only the ``Authorization: Bearer`` header is accepted (§2.1, the method every resource server must
support). A token in the query string is refused (RFC 9700 §4.3.2: URLs leak into logs and
Referer headers), and so is one in a form body: with the header too it is a token in two places
(§2: "MUST NOT use more than one method"), alone it is a method this server does not offer.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from oauth_provider import http
from oauth_provider.errors import OAuthError
from oauth_provider.resource.validator import AccessTokenInfo, get_validator

# The request-level parsing lives in http.py (one home for Bearer parsing, also used by UserInfo).
extract_bearer_token = http.request_bearer_token


def _django_request(request: Any) -> HttpRequest:
    """The HttpRequest behind a DRF Request (or the request itself)."""
    return getattr(request, "_request", request)


def resolve(request: Any) -> tuple[AccessTokenInfo | None, OAuthError | None]:
    """The request's verified token or the error it causes, computed once per request.

    The answer is kept on the HttpRequest as ``oauth`` / ``oauth_error`` (what the middleware sets),
    so the middleware, DRF authentication, permissions and decorators validate a token once.
    """
    django_request = _django_request(request)
    if hasattr(django_request, "oauth_error") and hasattr(django_request, "oauth"):
        return django_request.oauth, django_request.oauth_error
    info: AccessTokenInfo | None = None
    error: OAuthError | None = None
    try:
        token = extract_bearer_token(django_request)
        if token is not None:
            info = get_validator().validate(token)
    except OAuthError as exc:
        error = exc
    django_request.oauth = info
    django_request.oauth_error = error
    return info, error
