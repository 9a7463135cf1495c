from django.contrib import admin
from django.urls import include, path

from . import oauth_demo, spa, views

# The admin says which site it runs (the default "Django administration" says nothing).
admin.site.site_header = "Example OAuth server — administration"
admin.site.site_title = "Example OAuth server"
admin.site.index_title = "Clients, tokens, keys and the audit trail"

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("oauth/", include("oauth_provider.urls")),
    path("api/", include("example_project.api_urls")),
    path("", include("oauth_provider.urls_well_known")),
    path("demo/start/", oauth_demo.start, name="demo_start"),
    path("demo/callback/", oauth_demo.callback, name="demo_callback"),
    path("demo/spa/", spa.spa, name="demo_spa"),
]
