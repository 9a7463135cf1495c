"""The example site's URLs plus the benchmark's floor views (never routed in the example site itself)."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("bench/floor-a/", views.bare_json, name="bench_floor_a"),
    path("bench/floor-b/", views.OpenProfileView.as_view(), name="bench_floor_b"),
    path("bench/protected/", views.ProtectedProfileView.as_view(), name="bench_protected"),
    path("", include("example_project.urls")),
]
