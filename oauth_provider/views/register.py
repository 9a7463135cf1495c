"""The registration endpoint (RFC 7591 §3) and the client configuration endpoint (RFC 7592 §2)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse

from oauth_provider import http
from oauth_provider.endpoints.register import delete_client, read_client, register_client, update_client
from oauth_provider.errors import NO_STORE_HEADERS, InvalidRequest, json_response
from oauth_provider.views.base import OAuthAPIView

JSON_MEDIA_TYPE = "application/json"


class JSONBodyMixin:
    def json_body(self, request) -> Any:
        """The JSON request body (RFC 7591 §3.1 requires ``application/json``), parsed by ``http.parse_json_body``."""
        media_type = request.content_type.split(";", 1)[0].strip().lower()
        if media_type != JSON_MEDIA_TYPE:
            raise InvalidRequest(f"The request body must be {JSON_MEDIA_TYPE}.")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > http.MAX_JSON_BODY_BYTES:
            raise InvalidRequest(f"The request body is larger than {http.MAX_JSON_BODY_BYTES} bytes.")
        try:
            raw = request.body
        except RequestDataTooBig as exc:
            raise InvalidRequest(f"The request body is larger than {http.MAX_JSON_BODY_BYTES} bytes.") from exc
        return http.parse_json_body(raw)


class RegistrationView(JSONBodyMixin, OAuthAPIView):
    http_method_names = ["post"]
    throttle_scope = "oauth_registration"

    def post(self, request, *args, **kwargs):
        information = register_client(
            self.json_body(request),
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            context=self.context(request),
        )
        return json_response(information.body, status=information.status)


class ClientConfigurationView(JSONBodyMixin, OAuthAPIView):
    http_method_names = ["get", "put", "delete"]
    throttle_scope = "oauth_client_configuration"

    def get(self, request, client_id: str, *args, **kwargs):
        information = read_client(
            client_id, authorization=request.META.get("HTTP_AUTHORIZATION", ""), context=self.context(request)
        )
        return json_response(information.body)

    def put(self, request, client_id: str, *args, **kwargs):
        information = update_client(
            client_id,
            self.json_body(request),
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            context=self.context(request),
        )
        return json_response(information.body)

    def delete(self, request, client_id: str, *args, **kwargs):
        delete_client(client_id, authorization=request.META.get("HTTP_AUTHORIZATION", ""),
                      context=self.context(request))
        return HttpResponse(status=204, headers=NO_STORE_HEADERS)
