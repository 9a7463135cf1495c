"""The revocation endpoint (RFC 7009 §2), with CORS for origins that clients registered."""

from __future__ import annotations

from django.http import HttpResponse

from oauth_provider.endpoints.revoke import revoke_token
from oauth_provider.errors import NO_STORE_HEADERS
from oauth_provider.views.base import OAuthAPIView
from oauth_provider.views.cors import CorsEndpointMixin


class RevocationView(CorsEndpointMixin, OAuthAPIView):
    http_method_names = ["post", "options"]
    throttle_scope = "oauth_revocation"
    body_only_parameters = ("token", "client_secret", "client_assertion")

    def post(self, request, *args, **kwargs):
        revoke_token(
            self.form_params(request),
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            context=self.context(request),
        )
        # RFC 7009 §2.2: 200, and the content of the body is ignored by the client.
        return HttpResponse(status=200, headers=NO_STORE_HEADERS)
