"""CORS for browser clients at the token and revocation endpoints.

An origin is allowed when an active client registered it in ``allowed_origins``. A preflight
names no client, so it is answered for an origin any active client registered; the actual
response echoes ``Access-Control-Allow-Origin`` only when the client the request names (HTTP Basic
or ``client_id`` in the body) registered that origin, so a page of one client's origin cannot read
the answers given to another client. The authorization
endpoint never uses this module: it is a top-level navigation, not an XHR target (docs/SECURITY.md S8).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import APIException

from oauth_provider.clients.authentication import read_client_credentials
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import OAuthError
from oauth_provider.models import Application

ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type"


def request_origin(request: HttpRequest) -> str | None:
    return request.META.get("HTTP_ORIGIN") or None


def _usable(origin: str | None) -> bool:
    # "null" is what sandboxed frames and file: pages send: never a registered origin.
    return bool(origin) and origin != "null"


def is_registered_origin(origin: str | None) -> bool:
    """Whether an active client registered exactly this origin (no wildcards, no patterns)."""
    if not _usable(origin):
        return False
    candidates = Application.objects.filter(is_active=True, allowed_origins__contains=origin).only("allowed_origins")
    return any(origin in client.origin_list for client in candidates)


def is_client_origin(origin: str | None, client_id: str | None) -> bool:
    """Whether the active client ``client_id`` registered exactly this origin."""
    if not _usable(origin) or not client_id:
        return False
    client = Application.objects.filter(client_id=client_id, is_active=True).only("allowed_origins").first()
    return client is not None and origin in client.origin_list


def requesting_client_id(request: Any) -> str | None:
    """The client id a token-style request names (Basic header or body), or None if it names none."""
    try:
        credentials = read_client_credentials(request.META.get("HTTP_AUTHORIZATION", ""), request.data)
    except (OAuthError, APIException):
        return None
    return credentials.client_id if credentials is not None else None


def add_cors_headers(request: Any, response: HttpResponse) -> HttpResponse:
    """Add the CORS headers to an actual (non-preflight) response for the requesting client's origin."""
    origin = request_origin(request)
    if origin is None:
        return response
    _vary_on_origin(response)
    if is_client_origin(origin, requesting_client_id(request)):
        response["Access-Control-Allow-Origin"] = origin
    return response


def preflight_response(request: HttpRequest) -> HttpResponse:
    """Answer an OPTIONS preflight: 204, with permissions only for a registered origin."""
    response = HttpResponse(status=204)
    response["Allow"] = ALLOWED_METHODS
    origin = request_origin(request)
    if origin is None:
        return response
    _vary_on_origin(response)
    if is_registered_origin(origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response["Access-Control-Max-Age"] = str(oauth_settings.CORS_MAX_AGE)
    return response


def _vary_on_origin(response: HttpResponse) -> None:
    # The answer depends on Origin: shared caches must not serve one origin's answer to another.
    existing = response.get("Vary")
    response["Vary"] = f"{existing}, Origin" if existing else "Origin"


class CorsEndpointMixin:
    """For a DRF view of a browser-callable endpoint (revocation): preflight and CORS headers,
    errors included, exactly as at the token endpoint."""

    def options(self, request, *args, **kwargs):
        return preflight_response(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method != "OPTIONS":
            add_cors_headers(request, response)
        return response
