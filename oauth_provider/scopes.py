"""Scope strings (RFC 6749 §3.3): parsing, validation against the server's scopes, rendering."""

from __future__ import annotations

import re

from oauth_provider.conf import oauth_settings

# scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


def parse_scope(value: str | None) -> list[str]:
    """Split a space-delimited scope string into its tokens, keeping order and dropping repeats.

    Raises ValueError for a token with characters outside RFC 6749 §3.3.
    """
    tokens: list[str] = []
    for token in (value or "").split(" "):
        if not token:
            continue
        if not SCOPE_TOKEN.match(token):
            raise ValueError(f"invalid scope token {token!r}")
        if token not in tokens:
            tokens.append(token)
    return tokens


def scope_string(tokens: list[str] | tuple[str, ...] | set[str]) -> str:
    return " ".join(tokens)


def known_scopes() -> dict[str, str]:
    """The server's scopes, name -> human description: SCOPES and the OpenID Connect ones."""
    return {**oauth_settings.OIDC_SCOPES, **oauth_settings.SCOPES}


def describe(tokens: list[str]) -> list[tuple[str, str]]:
    """(scope, human description) pairs for the consent and device pages."""
    descriptions = known_scopes()
    return [(token, descriptions.get(token, token)) for token in tokens]
