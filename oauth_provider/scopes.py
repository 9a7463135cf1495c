"""Scope strings (RFC 6749 §3.3): parsing, validation against the server's scopes, rendering."""

from __future__ import annotations

import re
from typing import Any

from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidScope

# scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). Anchored with \Z (never "$", which allows a final
# newline), so SCOPE_TOKEN.match (checks.py) is a full match too.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+\Z")


def parse_scope(value: str | None) -> list[str]:
    """Split a space-delimited scope string into its tokens, keeping order and dropping repeats.

    Raises ValueError for a token with characters outside RFC 6749 §3.3.
    """
    tokens: list[str] = []
    for token in (value or "").split(" "):
        if not token:
            continue
        if not SCOPE_TOKEN.fullmatch(token):
            raise ValueError(f"invalid scope token {token!r}")
        if token not in tokens:
            tokens.append(token)
    return tokens


def requested_scope(client: Any, raw_scope: str | None) -> list[str]:
    """The one scope rule for a client's request (authorization, token and device endpoints): what the
    client asked for if it is allowed all of it, else InvalidScope.

    RFC 6749 §3.3: an empty request gets the client's pre-defined default scope (its own, else the
    server's ``DEFAULT_SCOPES`` that it is allowed).
    """
    try:
        requested = parse_scope(raw_scope)
    except ValueError as exc:
        raise InvalidScope(f"Malformed scope: {exc}.") from exc
    allowed = client.allowed_scope_list
    if not requested:
        requested = client.default_scope_list or [s for s in oauth_settings.DEFAULT_SCOPES if s in allowed]
        if not requested:
            raise InvalidScope("No scope was requested and the client has no default scope.")
        return requested
    outside = [s for s in requested if s not in allowed]
    if outside:
        raise InvalidScope(f"Scope not allowed for this client: {' '.join(outside)}.")
    return requested


def scope_string(tokens: list[str] | tuple[str, ...] | set[str]) -> str:
    return " ".join(tokens)


def known_scopes() -> dict[str, str]:
    """The server's scopes, name -> human description."""
    return dict(oauth_settings.SCOPES)


def describe(tokens: list[str]) -> list[tuple[str, str]]:
    """(scope, human description) pairs for the consent and device pages."""
    descriptions = known_scopes()
    return [(token, descriptions.get(token, token)) for token in tokens]
