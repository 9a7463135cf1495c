"""Checks of client metadata shared by the admin, the registration endpoint and the commands."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

LOOPBACK_HOSTS = ("127.0.0.1", "[::1]", "::1")


def is_loopback_host(host: str | None) -> bool:
    """True for the loopback IP literals of RFC 8252 §7.3 (``localhost`` is not accepted, §8.3)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_redirect_uri(uri: str) -> None:
    """A redirect URI the server accepts for registration (RFC 9700 §4.1.3, RFC 8252 §7).

    Absolute, no fragment, no wildcard; ``https``, ``http`` on a loopback IP literal, or a
    private-use scheme in reverse-domain form (``com.example.app:/callback``) for native apps.
    """
    if not uri or uri != uri.strip() or any(ch.isspace() for ch in uri):
        raise ValidationError("A redirect URI must be a single absolute URI without spaces.", code="invalid")
    if len(uri) > 2000:
        raise ValidationError("A redirect URI may be at most 2000 characters long.", code="invalid")
    if "*" in uri:
        raise ValidationError("Wildcards are not allowed in redirect URIs.", code="invalid")
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
    except ValueError as exc:
        raise ValidationError(f"Malformed redirect URI: {exc}.", code="invalid") from exc
    if parts.fragment or uri.endswith("#"):
        raise ValidationError("A redirect URI must not contain a fragment.", code="invalid")
    scheme = parts.scheme.lower()
    if scheme == "https":
        if not hostname:
            raise ValidationError("An https redirect URI needs a host.", code="invalid")
    elif scheme == "http":
        if not is_loopback_host(hostname):
            raise ValidationError(
                "http redirect URIs are allowed only on a loopback IP (127.0.0.1 or [::1]); use https.",
                code="insecure",
            )
    elif "." in scheme:
        pass  # private-use URI scheme for native apps (RFC 8252 §7.1)
    else:
        raise ValidationError(
            "A redirect URI must use https, http on a loopback IP, or a reverse-domain private-use scheme.",
            code="invalid",
        )
    if parts.username or parts.password:
        raise ValidationError("A redirect URI must not contain credentials.", code="invalid")
