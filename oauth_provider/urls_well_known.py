"""Documents that live at the site root: ``path("", include("oauth_provider.urls_well_known"))``."""

from django.urls import re_path

from oauth_provider.views.metadata import metadata_view, openid_configuration_view

urlpatterns = [
    # RFC 8414 §3.1: the issuer's path, if any, is appended after the well-known segment.
    re_path(
        r"^\.well-known/oauth-authorization-server(?P<suffix>/.*)?\Z",
        metadata_view,
        name="oauth_authorization_server_metadata",
    ),
    # OpenID Connect Discovery 1.0 §4.1: the issuer's path, if any, comes before it.
    re_path(
        r"^(?P<prefix>.*?)/?\.well-known/openid-configuration\Z",
        openid_configuration_view,
        name="openid_configuration",
    ),
]
