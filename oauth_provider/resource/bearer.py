"""Finding the bearer token of a request (RFC 6750 §2) and validating it once per request.

Only the ``Authorization: Bearer`` header is accepted (§2.1, the method every resource server must
support). A token in the query string is refused (RFC 9700 §4.3.2: URLs leak into logs and
Referer headers), and so is one in a form body: with the header too it is a token in two places
(§2: "MUST NOT use more than one method"), alone it is a method this server does not offer.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import BadRequest
from django.http import HttpRequest

from oauth_provider import http
from oauth_provider.errors import InvalidRequest, OAuthError
from oauth_provider.resource.validator import AccessTokenInfo, get_validator

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


def _form_has_token(request: HttpRequest) -> bool:
    # Only a urlencoded POST can carry a form-encoded token (§2.2); reading it there is cheap
    # and leaves the body readable for DRF (Django keeps request.body).
    content_type = request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if request.method != "POST" or content_type != FORM_MEDIA_TYPE:
        return False
    try:
        return "access_token" in request.POST
    except BadRequest:
        # An unreadable form (e.g. a charset other than UTF-8): the view answers it, not the middleware.
        return False


def extract_bearer_token(request: HttpRequest) -> str | None:
    """The bearer token of ``request``; None when it carries none; InvalidRequest when malformed."""
    if "access_token" in request.GET:
        raise InvalidRequest("Access tokens in the query string are refused; use the Authorization header.")
    credentials = http.bearer_credentials(request.META.get("HTTP_AUTHORIZATION", ""))
    in_body = _form_has_token(request)
    if credentials is None:
        # No header, or another scheme (Basic, ...): no bearer credentials in the header.
        if in_body:
            raise InvalidRequest("Send the access token in the Authorization header, not in the body.")
        return None
    if in_body:
        raise InvalidRequest("The request carries an access token in more than one place.")
    if not credentials or not http.is_b64token(credentials):
        raise InvalidRequest("The Authorization header is malformed; use 'Bearer <token>'.")
    return credentials


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
