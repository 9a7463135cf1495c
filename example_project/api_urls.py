from django.urls import path

from . import api

urlpatterns = [
    path("me", api.me, name="api-me"),
    path("ping", api.ping, name="api-ping"),
    path("notes/", api.NoteList.as_view(), name="api-notes"),
    path("notes/<int:pk>/", api.NoteDetail.as_view(), name="api-note"),
]
