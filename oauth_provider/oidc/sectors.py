"""Fetching a client's ``sector_identifier_uri`` (OpenID Connect Core §8.1), safely.

The document is a JSON array of redirect URIs; every redirect URI the client registers must be in
it. The server fetches it only when the client is registered or edited, never per request, and:

- only ``https`` (``http://127.0.0.1`` only with ``SECTOR_IDENTIFIER_ALLOW_LOOPBACK``, for tests);
- never to a host that is or resolves to a loopback, private, link-local or reserved address
  (unless the loopback setting allows 127.0.0.1), so registration cannot probe the internal network:
  checked before the fetch for a clear error, and again on the address actually connected to
  (``keys.remote.public_opener``, the same opener as client jwks_uris), so DNS rebinding does not help;
- no redirects followed, at most ``SECTOR_IDENTIFIER_TIMEOUT`` seconds and
  ``SECTOR_IDENTIFIER_MAX_BYTES`` bytes.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from oauth_provider.conf import oauth_settings
from oauth_provider.keys.remote import public_opener


class SectorIdentifierError(ValueError):
    """The sector_identifier_uri cannot be used; the message is safe to show the client."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise SectorIdentifierError("The sector_identifier_uri answered with a redirect; it must answer 200.")


_opener = public_opener(lambda: bool(oauth_settings.SECTOR_IDENTIFIER_ALLOW_LOOPBACK), redirects=_NoRedirects)


def _loopback_allowed(host: str, scheme: str) -> bool:
    return bool(oauth_settings.SECTOR_IDENTIFIER_ALLOW_LOOPBACK) and host == "127.0.0.1" and scheme in ("http", "https")


def _check_address(host: str) -> None:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise SectorIdentifierError("The sector_identifier_uri's host does not resolve.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not address.is_global:
            raise SectorIdentifierError("The sector_identifier_uri's host is not a public address.")


def check_sector_identifier_uri(uri: str) -> None:
    """The URI's form (before any fetch): https, a host, no fragment, no credentials."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if not host or parts.fragment or parts.username or parts.password:
        raise SectorIdentifierError("The sector_identifier_uri must be an absolute https URL without fragment.")
    if parts.scheme != "https" and not _loopback_allowed(host, parts.scheme):
        raise SectorIdentifierError("The sector_identifier_uri must use https.")


def _read_bounded(response, limit: int, *, deadline: float) -> bytes:
    """At most ``limit + 1`` bytes, and never past the deadline (a server dripping bytes is cut off)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        if time.monotonic() > deadline:
            raise SectorIdentifierError("The sector_identifier_uri took too long to answer.")
        chunk = response.read1(min(8192, limit + 1 - size))  # returns what one receive brought
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def fetch_sector_redirect_uris(uri: str) -> list[str]:
    """The redirect URIs listed at ``uri``; SectorIdentifierError when it cannot be used."""
    check_sector_identifier_uri(uri)
    parts = urlsplit(uri)
    if not _loopback_allowed(parts.hostname or "", parts.scheme):
        _check_address(parts.hostname or "")
    opener = _opener
    limit = int(oauth_settings.SECTOR_IDENTIFIER_MAX_BYTES)
    request = urllib.request.Request(uri, headers={"Accept": "application/json"})  # noqa: S310 (scheme checked)
    timeout = float(oauth_settings.SECTOR_IDENTIFIER_TIMEOUT)
    try:
        with opener.open(request, timeout=timeout) as response:
            if response.status != 200:
                raise SectorIdentifierError("The sector_identifier_uri did not answer 200.")
            body = _read_bounded(response, limit, deadline=time.monotonic() + timeout)
    except SectorIdentifierError:
        raise
    except (urllib.error.URLError, OSError, ValueError):
        raise SectorIdentifierError("The sector_identifier_uri could not be fetched.") from None
    if len(body) > limit:
        raise SectorIdentifierError(f"The sector_identifier_uri document is larger than {limit} bytes.")
    try:
        document = json.loads(body)
    except ValueError:
        raise SectorIdentifierError("The sector_identifier_uri document is not JSON.") from None
    if not isinstance(document, list) or not all(isinstance(item, str) for item in document):
        raise SectorIdentifierError("The sector_identifier_uri document must be a JSON array of redirect URIs.")
    return document


def verify_sector_identifier(uri: str, redirect_uris: list[str]) -> None:
    """Core §8.1: every registered redirect URI must be listed in the sector identifier document."""
    listed = set(fetch_sector_redirect_uris(uri))
    missing = [r for r in redirect_uris if r not in listed]
    if missing:
        raise SectorIdentifierError(
            "The sector_identifier_uri does not list every redirect URI: " + " ".join(m[:100] for m in missing)
        )
