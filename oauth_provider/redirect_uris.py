"""Redirect URIs: which ones a client may register (the admin, the registration endpoint, the
commands), whether a requested one matches a registered one (the authorization endpoint), and
where an error or a result is sent there (``RedirectTarget``).

One loopback rule serves both validation and matching (``is_loopback_host``): ``http`` is allowed
only on a loopback IP literal such as ``127.0.0.1`` or ``[::1]`` (RFC 8252 §7.3), whose port may
differ between registration and request; ``localhost`` is not a loopback redirect (RFC 8252 §8.3:
it can be resolved elsewhere), so it is refused at registration and matches only exactly.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.core.exceptions import ValidationError

from oauth_provider.conf import oauth_settings

# http://<host>[:port] then the rest: the pieces of a URI that may be a loopback redirect URI, matched
# in full (no newline anywhere). The host is checked with is_loopback_host.
_HTTP_URI = re.compile(r"http://(?P<host>\[[0-9A-Fa-f:.]+\]|[0-9.]+)(?::\d{1,5})?(?P<rest>[/?].*)?")


def is_loopback_host(host: str | None) -> bool:
    """True for a loopback IP literal (RFC 8252 §7.3); never for ``localhost`` (§8.3)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _without_loopback_port(uri: str) -> str | None:
    """A loopback redirect URI with its port removed; None for any other URI."""
    match = _HTTP_URI.fullmatch(uri)
    if match is None or not is_loopback_host(match["host"]):
        return None
    return f"http://{match['host']}{match['rest'] or ''}"


def redirect_uri_matches(requested: str, registered: str) -> bool:
    """Exact string match (RFC 9700 §4.1.3), except that a loopback redirect URI matches on any port
    (RFC 8252 §7.3): native apps listen on a port the system picks at run time."""
    if requested == registered:
        return True
    registered_loopback = _without_loopback_port(registered)
    return registered_loopback is not None and registered_loopback == _without_loopback_port(requested)


@dataclass(frozen=True)
class RedirectTarget:
    """A verified redirect URI plus what every response to it carries: ``state``, the RFC 9207
    ``iss``, and the response mode (query, or fragment for the implicit flow)."""

    uri: str
    state: str | None
    fragment: bool = False

    def location(self, params: Mapping[str, Any]) -> str:
        values = {k: v for k, v in params.items() if v is not None}
        if self.state is not None:
            values["state"] = self.state
        values["iss"] = oauth_settings.ISSUER
        encoded = urlencode(values)
        if self.fragment:
            return f"{self.uri}#{encoded}"
        separator = "&" if urlsplit(self.uri).query else "?"
        return f"{self.uri}{separator}{encoded}"


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
