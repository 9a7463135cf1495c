"""DRF authentication with access tokens: Bearer (RFC 6750 §2.1) and DPoP-bound (RFC 9449 §7).

- ``BearerTokenAuthentication``: ``Authorization: Bearer <token>``, and ``Authorization: DPoP <token>``
  with a proof for DPoP-bound tokens (a bound token sent as Bearer is refused);
- ``DPoPTokenAuthentication``: DPoP-bound tokens only: the view requires DPoP.

``request.auth`` is the verified ``AccessTokenInfo``; ``request.user`` is the token's user, loaded
on first use (client-credentials tokens give AnonymousUser; read ``request.auth.client_id``).
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import SimpleLazyObject
from rest_framework.authentication import BaseAuthentication

from oauth_provider.resource.bearer import DPOP, resolve
from oauth_provider.resource.responses import dpop_required_error, raise_for_drf, success_headers, www_authenticate
from oauth_provider.resource.validator import AccessTokenInfo


def lazy_user(info: AccessTokenInfo) -> Any:
    """The token's user as a lazy object: no query until an attribute is read."""
    return SimpleLazyObject(lambda: info.user)


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <JWT access token>`` or ``DPoP <token>`` + proof; other schemes are left
    to other classes."""

    # True: only DPoP-bound tokens with their proof (RFC 9449 §7); the challenges name DPoP alone.
    dpop_required = False

    def authenticate(self, request: Any) -> tuple[Any, AccessTokenInfo] | None:
        info, error = resolve(request)
        if error is None and info is not None and self.dpop_required and getattr(request, "oauth_scheme", None) != DPOP:
            error = dpop_required_error()
        if error is not None:
            raise_for_drf(request, error, dpop_required=self.dpop_required)
        if info is None:
            return None
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if view is not None and isinstance(getattr(view, "headers", None), dict):
            view.headers.update(success_headers(request))  # DRF applies the view's headers to its answer
        return lazy_user(info), info

    def authenticate_header(self, request: Any) -> str:
        # DRF answers 401 (not 403) to unauthenticated requests when this returns a challenge.
        return www_authenticate(dpop_required=self.dpop_required)


class DPoPTokenAuthentication(BearerTokenAuthentication):
    """Only ``Authorization: DPoP <token>`` with a valid ``DPoP`` proof of the token's key."""

    dpop_required = True
