"""The token endpoint (RFC 6749 §3.2), with CORS for origins that clients registered."""

from __future__ import annotations

from oauth_provider import dpop
from oauth_provider.conf import oauth_settings
from oauth_provider.endpoints.token import handle_token_request
from oauth_provider.errors import json_response
from oauth_provider.views import cors
from oauth_provider.views.base import OAuthAPIView


class TokenView(OAuthAPIView):
    http_method_names = ["post", "options"]
    throttle_scope = "oauth_token"
    body_only_parameters = ("client_secret", "client_assertion", "code", "code_verifier", "refresh_token", "password",
                            "device_code")

    def post(self, request, *args, **kwargs):
        body = handle_token_request(
            self.form_params(request),
            resources=self.resources(request),
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            context=self.context(request),
            dpop_header=request.META.get("HTTP_DPOP"),
            uri=dpop.request_uri(request),
        )
        return json_response(body)

    def options(self, request, *args, **kwargs):
        return cors.preflight_response(request)

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors too: a browser client must be able to read invalid_grant and friends.
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method != "OPTIONS":
            cors.add_cors_headers(request, response)
            if oauth_settings.DPOP_NONCE_REQUIRED and not response.has_header(dpop.NONCE_HEADER):
                # RFC 9449 §8: every answer carries the current nonce, so clients follow its rotation.
                response[dpop.NONCE_HEADER] = dpop.current_nonce()
        return response
