"""Authorization server metadata (RFC 8414) and the JWK Set (RFC 7517)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import Http404, JsonResponse
from django.views.decorators.http import require_safe

from ..conf import oauth_settings
from ..discovery import server_metadata
from ..keys import get_jwks


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
def jwks_view(request):
    return _public_json(get_jwks())
