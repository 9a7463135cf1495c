"""DRF authentication with bearer access tokens (RFC 6750 §2.1).

``request.auth`` is the verified ``AccessTokenInfo``; ``request.user`` is the token's user, loaded
on first use (client-credentials tokens give AnonymousUser; read ``request.auth.client_id``).
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import SimpleLazyObject
from rest_framework.authentication import BaseAuthentication

from oauth_provider.resource.bearer import resolve
from oauth_provider.resource.responses import OAuthAPIException, www_authenticate
from oauth_provider.resource.validator import AccessTokenInfo


def lazy_user(info: AccessTokenInfo) -> Any:
    """The token's user as a lazy object: no query until an attribute is read."""
    return SimpleLazyObject(lambda: info.user)


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <JWT access token>``; other schemes are left to other classes."""

    def authenticate(self, request: Any) -> tuple[Any, AccessTokenInfo] | None:
        info, error = resolve(request)
        if error is not None:
            raise OAuthAPIException(error)
        if info is None:
            return None
        return lazy_user(info), info

    def authenticate_header(self, request: Any) -> str:
        # DRF answers 401 (not 403) to unauthenticated requests when this returns a challenge.
        return www_authenticate()
