"""DRF permissions on the scopes of the request's access token (RFC 6750 §3.1).

- ``HasScopes``: the view's ``required_scopes`` are all needed, whatever the method.
- ``HasReadWriteScopes``: safe methods need the view's ``read_scopes`` (default ``["read"]``), others
  its ``write_scopes`` (default ``["write"]``); good as a ``DEFAULT_PERMISSION_CLASSES`` entry.

A request without a token answers 401 with a bare challenge; a token lacking a scope answers 403
``insufficient_scope`` naming the scopes needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import SAFE_METHODS, BasePermission

from oauth_provider.errors import TokenRequired
from oauth_provider.resource.bearer import resolve
from oauth_provider.resource.responses import OAuthAPIException, insufficient_scope
from oauth_provider.resource.validator import AccessTokenInfo


def token_info(request: Any) -> AccessTokenInfo:
    """The request's verified token, from BearerTokenAuthentication or the middleware; raises if none."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, AccessTokenInfo):
        return auth
    info, error = resolve(request)
    if error is not None:
        raise OAuthAPIException(error)
    if info is None:
        raise OAuthAPIException(TokenRequired())
    return info


def check_scopes(info: AccessTokenInfo, required: Sequence[str]) -> None:
    if not info.has_scopes(*required):
        raise OAuthAPIException(insufficient_scope(required))


class HasScopes(BasePermission):
    """Every scope of the view's ``required_scopes`` is granted to the token."""

    def get_required_scopes(self, request: Any, view: Any) -> Sequence[str]:
        required = getattr(view, "required_scopes", None)
        if required is None:
            raise ImproperlyConfigured(f"{type(view).__name__} uses HasScopes but sets no required_scopes.")
        return required

    def has_permission(self, request: Any, view: Any) -> bool:
        check_scopes(token_info(request), self.get_required_scopes(request, view))
        return True


class HasReadWriteScopes(HasScopes):
    """``read_scopes`` for GET, HEAD and OPTIONS; ``write_scopes`` for every other method."""

    default_read_scopes: Sequence[str] = ("read",)
    default_write_scopes: Sequence[str] = ("write",)

    def get_required_scopes(self, request: Any, view: Any) -> Sequence[str]:
        if request.method in SAFE_METHODS:
            return getattr(view, "read_scopes", self.default_read_scopes)
        return getattr(view, "write_scopes", self.default_write_scopes)
