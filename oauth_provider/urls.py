"""The endpoints under the prefix you choose, e.g. ``path("oauth/", include("oauth_provider.urls"))``."""

from django.urls import path

from .views.metadata import jwks_view
from .views.token import TokenView

app_name = "oauth_provider"

urlpatterns = [
    path("token/", TokenView.as_view(), name="token"),
    path("jwks/", jwks_view, name="jwks"),
]
