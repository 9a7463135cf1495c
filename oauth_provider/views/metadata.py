"""Authorization server metadata (RFC 8414) and the JWK Set (RFC 7517)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.db import DatabaseError
from django.http import Http404, JsonResponse
from django.views.decorators.http import require_safe

from oauth_provider.conf import oauth_settings
from oauth_provider.endpoints.metadata import openid_configuration, server_metadata
from oauth_provider.errors import TemporarilyUnavailable, error_response
from oauth_provider.keys.store import get_jwks

logger = logging.getLogger("oauth_provider")


def _public_json(body: dict) -> JsonResponse:
    response = JsonResponse(body)
    response["Cache-Control"] = f"public, max-age={oauth_settings.JWKS_MAX_AGE}"
    response["Access-Control-Allow-Origin"] = "*"  # public documents; browsers may read them
    return response


@require_safe
def metadata_view(request, suffix: str = ""):
    """/.well-known/oauth-authorization-server[/issuer-path] (RFC 8414 §3.1)."""
    issuer_path = urlsplit(oauth_settings.ISSUER).path.rstrip("/")
    if (suffix or "").rstrip("/") != issuer_path:
        raise Http404("No authorization server with this issuer here.")
    return _public_json(server_metadata())


@require_safe
def openid_configuration_view(request, prefix: str = ""):
    """{issuer}/.well-known/openid-configuration (OpenID Connect Discovery 1.0 §4.1): unlike RFC 8414,
    the well-known segment comes after the issuer's path."""
    issuer_path = urlsplit(oauth_settings.ISSUER).path.rstrip("/")
    if ("/" + (prefix or "").strip("/")).rstrip("/") != issuer_path:
        raise Http404("No OpenID Provider with this issuer here.")
    return _public_json(openid_configuration())


@require_safe
def jwks_view(request):
    try:
        keys = get_jwks()
    except DatabaseError:
        # Never cached: a 503 must not stick in a resource server's key cache or a CDN.
        logger.exception("database error in jwks_view")
        return error_response(TemporarilyUnavailable())
    return _public_json(keys)
