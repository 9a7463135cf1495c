"""The UserInfo endpoint (OpenID Connect Core §5.3): GET and POST, a Bearer token in the header."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from oauth_provider import http
from oauth_provider.endpoints.userinfo import challenged, userinfo_answer
from oauth_provider.errors import OAuthError, TemporarilyUnavailable, error_response, json_response
from oauth_provider.views import cors

logger = logging.getLogger("oauth_provider")
METHODS = "GET, POST, OPTIONS"


@csrf_exempt  # a bearer-token API: no cookie ever authenticates it
@require_http_methods(["GET", "POST", "OPTIONS"])
def userinfo_view(request: HttpRequest) -> HttpResponse:
    """Core §5.3.1: the token travels in ``Authorization: Bearer`` (RFC 6750 §2.1), as at every API
    of this server; one in the query string or the form body is refused (RFC 9700 §4.3.2).

    Browser relying parties may read the answer from an origin their client registered (CORS, as at
    the token endpoint); error answers name no client and carry no CORS permission.
    """
    if request.method == "OPTIONS":
        return cors.preflight_response(request, methods=METHODS)
    try:
        answer = userinfo_answer(http.request_bearer_token(request))
    except OAuthError as exc:
        return error_response(challenged(exc))
    except DatabaseError:
        logger.exception("database error in userinfo_view")
        return error_response(TemporarilyUnavailable())
    return cors.add_cors_headers(request, json_response(answer.body), client_id=answer.client_id)
