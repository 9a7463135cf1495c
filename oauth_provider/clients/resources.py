"""Resource indicators (RFC 8707): which resource servers a client may ask tokens for, and the scopes
a token for one of them may carry.

Resource servers are the clients marked ``is_resource_server``; each audience line of theirs that is
an absolute URI is a resource a client can name in ``resource``. Why not a model of its own: these
clients already say which ``aud`` they serve, and introspection already lets them see exactly the
tokens of those audiences; a second registry would have to be kept in step with the first.

Scopes per resource: a resource server lists the scopes it accepts in ``resource_scopes``. A scope
that no resource server lists is general and goes to any resource; a scope that some do list goes
only to those. So a token for resource A never carries a scope that only resource B defines.

One access token has one audience: a request that would need a token for several resources at once
is refused (``invalid_target``, RFC 8707 §2 lets the server refuse a combination); the client asks for
one resource per token request, and may use a refresh token for the others (RFC 8707 §2.2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from oauth_provider.errors import InvalidTarget
from oauth_provider.models import Application

MAX_RESOURCES = 10
MAX_RESOURCE_LENGTH = 255


@dataclass(frozen=True)
class ResourceServers:
    """The registered resources and the scopes each accepts (None: no list, general scopes only)."""

    accepted: dict[str, frozenset[str]]
    defined: frozenset[str]

    def accepts(self, resource: str, scope: str) -> bool:
        return scope in self.accepted.get(resource, frozenset()) or scope not in self.defined

    def scope_for(self, resource: str, scope: Iterable[str]) -> list[str]:
        """The part of ``scope`` a token for ``resource`` may carry."""
        return [s for s in scope if self.accepts(resource, s)]


def is_resource_uri(value: str) -> bool:
    """RFC 8707 §2: an absolute URI (a scheme, and a host or a path) without a fragment."""
    if not value or any(ch.isspace() for ch in value) or "#" in value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme) and parts.scheme.isascii() and bool(parts.netloc or parts.path)


def resource_servers() -> ResourceServers:
    """One query: the active resource servers' URI audiences and the scopes they list."""
    accepted: dict[str, set[str]] = {}
    defined: set[str] = set()
    rows = Application.objects.filter(is_resource_server=True, is_active=True).order_by()
    for audiences, scopes in rows.values_list("resource_audiences", "resource_scopes"):
        listed = set(scopes.split())
        defined |= listed
        for line in audiences.splitlines():
            audience = line.strip()
            if is_resource_uri(audience):
                accepted.setdefault(audience, set()).update(listed)
    return ResourceServers({uri: frozenset(s) for uri, s in accepted.items()}, frozenset(defined))


def validate_resources(values: list[str]) -> list[str]:
    """The requested resources, each an absolute URI without fragment that is registered, or InvalidTarget."""
    if not values:
        return []
    if len(values) > MAX_RESOURCES:
        raise InvalidTarget(f"At most {MAX_RESOURCES} resource parameters.")
    unique = list(dict.fromkeys(values))
    for value in unique:
        # 255: the width of AccessToken.audience.
        if not is_resource_uri(value) or len(value) > MAX_RESOURCE_LENGTH:
            raise InvalidTarget("A resource must be an absolute URI without a fragment (RFC 8707 §2).")
    registered = resource_servers().accepted
    unknown = [value for value in unique if value not in registered]
    if unknown:
        raise InvalidTarget("The resource is not a registered resource server.")
    return unique


@dataclass(frozen=True)
class Target:
    """The audience and scope of one access token."""

    audience: str | None
    scope: list[str]


def token_target(requested: list[str], granted: list[str] | None, scope: list[str]) -> Target:
    """The audience and scope of an access token (RFC 8707 §2.2).

    ``requested``: the resources of this token request (validated); ``granted``: the resources of the
    grant being redeemed (code, refresh token, device code), or None for grants without one
    (client credentials, password), where any registered resource may be named.
    No resource requested or granted: the server's default audience and the whole scope, as before.
    """
    if granted:
        outside = [r for r in requested if r not in granted]
        if outside:
            raise InvalidTarget("The resource was not part of the authorization grant.")
    elif requested and granted is not None:
        raise InvalidTarget("The authorization grant names no resource; ask for it in the authorization request.")
    candidates = requested or list(granted or [])
    if not candidates:
        return Target(None, scope)
    if len(candidates) > 1:
        raise InvalidTarget("Name one resource per token request: an access token has one audience.")
    resource = candidates[0]
    narrowed = resource_servers().scope_for(resource, scope)
    if not narrowed:
        raise InvalidTarget("The resource accepts none of the granted scopes.")
    return Target(resource, narrowed)
