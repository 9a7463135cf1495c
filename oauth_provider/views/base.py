"""The base of the JSON endpoints: strict form parsing and RFC-shaped errors for everything."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, QueryDict
from rest_framework import exceptions as drf_exceptions
from rest_framework.parsers import FormParser
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from oauth_provider import http, ratelimit
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidRequest, OAuthError, ServerError, TemporarilyUnavailable, error_response

logger = logging.getLogger("oauth_provider")

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class OAuthAPIView(APIView):
    """A DRF view for an OAuth endpoint: no session auth or CSRF, JSON out, OAuthError rendered.

    Subclasses parse with ``form_params`` and hand plain values to the protocol code.
    """

    authentication_classes: list = []
    permission_classes: list = []
    renderer_classes = [JSONRenderer]
    parser_classes = [FormParser]
    # The scope of DRF's ScopedRateThrottle for this endpoint (get_throttles).
    throttle_scope = "oauth"
    # Parameters that carry credentials: refused in the URL (RFC 6749 §2.3.1, RFC 9700 §4.3.2).
    body_only_parameters: tuple[str, ...] = ()

    def perform_content_negotiation(self, request: Any, force: bool = False):
        """Always JSON (RFC 6749 §5.1): no Accept parsing per request, and no 406 for an odd Accept."""
        renderer = self.renderer_classes[0]()
        return renderer, renderer.media_type

    def form_params(self, request: Any) -> dict[str, str]:
        """The POST body as single-valued parameters (RFC 6749 §3.1, §3.2).

        Refuses ``body_only_parameters`` found in the query string; requires
        ``application/x-www-form-urlencoded`` (parameters such as charset are fine);
        refuses repeated and oversized parameters; empty values count as absent.
        """
        self.refuse_credentials_in_url(request)
        media_type = request.content_type.split(";", 1)[0].strip().lower()
        if media_type != FORM_MEDIA_TYPE:
            raise InvalidRequest(f"The request body must be {FORM_MEDIA_TYPE}.")
        data: QueryDict = request.data
        return http.single_valued(data)

    def resources(self, request: Any) -> list[str]:
        """The body's ``resource`` parameters (RFC 8707 §2; ``form_params`` leaves them out)."""
        return http.resources(request.data) if hasattr(request.data, "getlist") else []

    def refuse_credentials_in_url(self, request: Any) -> None:
        """``invalid_request`` when a ``body_only_parameters`` name is in the query string."""
        leaked = [name for name in self.body_only_parameters if name in request.query_params]
        if leaked:
            raise InvalidRequest(f"{leaked[0]} must be sent in the request body, not the URL.")

    def context(self, request: HttpRequest) -> http.RequestContext:
        return http.RequestContext.from_request(request)

    def get_throttles(self) -> list:
        """DRF's own throttles, for integrators who want request-rate limits (none by default).

        ``OAUTH_PROVIDER['THROTTLE_CLASSES']``, or when it is None REST_FRAMEWORK's
        ``DEFAULT_THROTTLE_CLASSES`` (read per request, like the rest of DRF's settings). Each view
        has a ``throttle_scope`` for ``ScopedRateThrottle``; a scope without a rate in
        ``DEFAULT_THROTTLE_RATES`` is not throttled (instead of DRF's ImproperlyConfigured, which a
        project that scopes its own views only would otherwise get from ours).
        """
        classes = oauth_settings.THROTTLE_CLASSES
        if classes is None:
            classes = api_settings.DEFAULT_THROTTLE_CLASSES
        throttles = [throttle_class() for throttle_class in classes]
        return [throttle for throttle in throttles if not self._scope_without_rate(throttle)]

    def _scope_without_rate(self, throttle: Any) -> bool:
        if not isinstance(throttle, ScopedRateThrottle):
            return False
        return getattr(self, throttle.scope_attr, None) not in throttle.THROTTLE_RATES

    def handle_exception(self, exc: Exception):
        if isinstance(exc, OAuthError):
            return error_response(exc)
        if isinstance(exc, drf_exceptions.Throttled):
            # A DRF throttle (get_throttles): the same 429 and Retry-After as the failure limits.
            return error_response(ratelimit.too_many_requests(exc.wait))
        if isinstance(exc, drf_exceptions.MethodNotAllowed):
            allowed = ", ".join(self.allowed_methods)
            error = InvalidRequest(f"Method not allowed; use {allowed}.", status_code=405, headers={"Allow": allowed})
            return error_response(error)
        if isinstance(exc, drf_exceptions.APIException):
            # ParseError, UnsupportedMediaType and the like: the client sent something unreadable.
            return error_response(InvalidRequest("The request could not be parsed."))
        if isinstance(exc, DatabaseError):
            logger.exception("database error in %s", type(self).__name__)
            return error_response(TemporarilyUnavailable())
        logger.exception("unexpected error in %s", type(self).__name__)
        return error_response(ServerError())
