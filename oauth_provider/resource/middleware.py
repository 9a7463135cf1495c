"""``OAuthTokenMiddleware``: every request gets ``request.oauth`` and ``request.oauth_error``.

- ``request.oauth``: the verified token (an ``AccessTokenInfo``) when the request carries a valid
  ``Authorization: Bearer`` token, or a DPoP-bound one as ``Authorization: DPoP`` with its proof
  (RFC 9449 §7; ``request.oauth_dpop`` is then the verified proof), else None.
- ``request.oauth_error``: the ``OAuthError`` a bad token (or a token sent the wrong way) caused,
  else None.

The middleware never answers by itself: a bad token must not break pages that need no token
(the login page, the admin, the token endpoint). Views that need a token say so with
``@require_scopes`` or the DRF classes, which answer with the RFC 6750 error. It does not touch
``request.user`` either: that stays the session user unless a protected view asks for the token's.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from oauth_provider.resource.bearer import resolve
from oauth_provider.resource.responses import success_headers


class OAuthTokenMiddleware:
    """Validate the bearer token of each request (once) and record the outcome on the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        resolve(request)
        response = self.get_response(request)
        for name, value in success_headers(request).items():
            if not response.has_header(name):
                response[name] = value
        return response
