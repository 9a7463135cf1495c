from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("oauth/", include("oauth_provider.urls")),
    path("api/", include("example_project.api_urls")),
    path("", include("oauth_provider.urls_well_known")),
]
