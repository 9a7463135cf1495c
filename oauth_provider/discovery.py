"""The server metadata document (RFC 8414 §2): what this server implements, and nothing more."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.urls import NoReverseMatch, reverse

from .clients import CONFIDENTIAL_METHODS, NONE
from .conf import oauth_settings
from .models import ClientType


def endpoint_url(name: str) -> str | None:
    """Absolute URL of one of our endpoints on the issuer's origin, or None if it is not routed."""
    try:
        path = reverse(f"oauth_provider:{name}")
    except NoReverseMatch:
        return None
    issuer = urlsplit(oauth_settings.ISSUER)
    return f"{issuer.scheme}://{issuer.netloc}{path}"


def server_metadata() -> dict[str, Any]:
    grants = oauth_settings.GRANT_TYPES
    auth_methods = list(CONFIDENTIAL_METHODS)
    if any(ClientType.PUBLIC in handler.client_types for handler in grants.values()):
        auth_methods.append(NONE)
    document: dict[str, Any] = {
        "issuer": oauth_settings.ISSUER,
        "token_endpoint": endpoint_url("token"),
        "jwks_uri": endpoint_url("jwks"),
        "scopes_supported": list(oauth_settings.SCOPES),
        # REQUIRED by RFC 8414 even with no authorization endpoint; filled as response types appear.
        "response_types_supported": [],
        "grant_types_supported": list(grants),
        "token_endpoint_auth_methods_supported": auth_methods,
    }
    return {name: value for name, value in document.items() if value is not None}
