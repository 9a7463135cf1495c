"""The grant registry: ``OAUTH_PROVIDER['GRANT_TYPES']`` maps grant_type to a handler class.

A new grant slots in without touching the token endpoint (``oauth_provider.endpoints.token``).
``Grant`` is public: subclass it to add a grant.
"""

from __future__ import annotations

from oauth_provider.conf import oauth_settings
from oauth_provider.errors import UnsupportedGrantType
from oauth_provider.grants.base import Grant, TokenRequest

__all__ = ["Grant", "TokenRequest", "grant_class"]


def grant_class(grant_type: str) -> type[Grant]:
    handler = oauth_settings.GRANT_TYPES.get(grant_type)
    if handler is None:
        raise UnsupportedGrantType(f"The grant type {grant_type!r} is not supported.")
    return handler
