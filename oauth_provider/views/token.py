"""The token endpoint (RFC 6749 §3.2)."""

from __future__ import annotations

from ..errors import InvalidRequest, json_response
from ..grants import handle_token_request
from .base import OAuthAPIView

# Credentials must never travel in a URL (RFC 6749 §2.3.1, RFC 9700 §4.3.2).
SECRET_QUERY_PARAMETERS = ("client_secret", "code", "code_verifier", "refresh_token", "password", "device_code")


class TokenView(OAuthAPIView):
    http_method_names = ["post", "options"]

    def post(self, request, *args, **kwargs):
        leaked = [name for name in SECRET_QUERY_PARAMETERS if name in request.query_params]
        if leaked:
            raise InvalidRequest(f"{leaked[0]} must be sent in the request body, not the URL.")
        body = handle_token_request(
            self.form_params(request),
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            context=self.context(request),
        )
        return json_response(body)
