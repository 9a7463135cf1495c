"""``@require_scopes(...)``: protect a view with a bearer token carrying the given scopes.

Works on plain Django function views, on class-based view methods (directly or through
``method_decorator``) and on DRF ``@api_view`` functions (put it below ``@api_view``)::

    @require_scopes("read")
    def ping(request): ...

    class NoteView(View):
        @require_scopes("write")
        def post(self, request): ...

    @api_view(["GET"])
    @require_scopes("read")
    def me(request): ...

Inside the view ``request.oauth`` is the verified token and ``request.user`` the token's user
(loaded on first use; AnonymousUser for client-credentials tokens), never a session user.
Errors are the RFC 6750 answers of ``responses.challenge_response``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from oauth_provider.errors import TokenRequired
from oauth_provider.resource.authentication import lazy_user
from oauth_provider.resource.bearer import resolve
from oauth_provider.resource.responses import challenge_response, insufficient_scope


def _is_request(value: Any) -> bool:
    # An HttpRequest or a DRF Request (which proxies META and method); a view instance is neither.
    return hasattr(value, "META") and hasattr(value, "method")


def require_scopes(*scopes: str) -> Callable:
    """Require a valid bearer token granting every one of ``scopes`` (none: any valid token)."""
    required = tuple(scopes)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # A function view gets the request first; a method gets (self, request, ...).
            request = args[0] if _is_request(args[0]) else args[1]
            info, error = resolve(request)
            if error is None and info is None:
                error = TokenRequired()
            if error is None and not info.has_scopes(*required):
                error = insufficient_scope(required)
            if error is not None:
                return challenge_response(error)
            request.user = lazy_user(info)
            return view(*args, **kwargs)

        # A bearer token is never sent by a browser on its own, so CSRF protection has nothing to
        # protect here; without this, Django's CSRF middleware would refuse token-authenticated POSTs.
        wrapper.csrf_exempt = True
        return wrapper

    return decorator
