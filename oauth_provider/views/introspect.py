"""The introspection endpoint (RFC 7662 §2)."""

from __future__ import annotations

from oauth_provider.endpoints.introspect import introspect_token
from oauth_provider.errors import json_response
from oauth_provider.views.base import OAuthAPIView


class IntrospectionView(OAuthAPIView):
    http_method_names = ["post"]
    throttle_scope = "oauth_introspection"
    body_only_parameters = ("token", "client_secret", "client_assertion")

    def post(self, request, *args, **kwargs):
        body = introspect_token(
            self.form_params(request),
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            context=self.context(request),
        )
        return json_response(body)
