"""URLs of the separate resource server (settings_resource_server): the token-only API views."""

from django.urls import path

from . import api

urlpatterns = [
    path("api/me", api.me, name="api-me"),
    path("api/ping", api.ping, name="api-ping"),
]
