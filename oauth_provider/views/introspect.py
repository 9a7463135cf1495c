"""The introspection endpoint (RFC 7662 §2)."""

from __future__ import annotations

from ..errors import InvalidRequest, json_response
from ..introspect import introspect_token
from .base import OAuthAPIView

SECRET_QUERY_PARAMETERS = ("token", "client_secret")


class IntrospectionView(OAuthAPIView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        leaked = [name for name in SECRET_QUERY_PARAMETERS if name in request.query_params]
        if leaked:
            raise InvalidRequest(f"{leaked[0]} must be sent in the request body, not the URL.")
        body = introspect_token(
            self.form_params(request),
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            context=self.context(request),
        )
        return json_response(body)
