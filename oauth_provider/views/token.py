"""The token endpoint (RFC 6749 §3.2), with CORS for origins that clients registered."""

from __future__ import annotations

from .. import cors
from ..errors import InvalidRequest, json_response
from ..grants import handle_token_request
from .base import OAuthAPIView

# Credentials must never travel in a URL (RFC 6749 §2.3.1, RFC 9700 §4.3.2).
SECRET_QUERY_PARAMETERS = (
    "client_secret", "code", "code_verifier", "refresh_token", "password", "device_code",
)


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

    def options(self, request, *args, **kwargs):
        return cors.preflight_response(request)

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors too: a browser client must be able to read invalid_grant and friends.
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method != "OPTIONS":
            cors.add_cors_headers(request, response)
        return response
