"""The pushed authorization request endpoint (RFC 9126 §2): 201 with a request_uri, or a JSON error."""

from __future__ import annotations

from oauth_provider.endpoints.par import push_authorization_request
from oauth_provider.errors import json_response
from oauth_provider.views.base import OAuthAPIView


class PushedAuthorizationRequestView(OAuthAPIView):
    http_method_names = ["post"]
    body_only_parameters = ("client_secret", "client_assertion")

    def post(self, request, *args, **kwargs):
        body = push_authorization_request(
            self.form_params(request),
            resources=self.resources(request),
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            context=self.context(request),
        )
        return json_response(body, status=201)
