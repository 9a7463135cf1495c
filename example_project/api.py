"""A small API protected by access tokens, in each style ``oauth_provider.resource`` supports.

- ``/api/me``: DRF ``@api_view`` + ``@require_scopes("read")``: who the token speaks for;
- ``/api/notes/``: DRF generic views + ``HasReadWriteScopes``: the user's notes (read / write);
- ``/api/notes/<id>/``: reading needs ``read``, deleting needs ``notes:delete``;
- ``/api/ping``: a plain Django view + ``@require_scopes("read")``.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_safe
from rest_framework import generics, serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from oauth_provider.resource.authentication import BearerTokenAuthentication
from oauth_provider.resource.decorators import require_scopes
from oauth_provider.resource.permissions import HasReadWriteScopes

from .models import Note


class TokenHasUser(BasePermission):
    """Notes belong to users: a client-credentials token (no user) may not use them."""

    def has_permission(self, request, view) -> bool:
        if not request.user.is_authenticated:
            raise PermissionDenied("This API needs a token issued for a user, not a client-only token.")
        return True


@api_view(["GET"])
@authentication_classes([BearerTokenAuthentication])
@permission_classes([])
@require_scopes("read")
def me(request):
    """The token's subject: the user for user tokens, the client for client-credentials tokens."""
    token = request.auth
    body = {
        "sub": token.subject,
        "client_id": token.client_id,
        "scope": " ".join(token.scopes),
        "expires_at": token.expires_at,
    }
    if token.is_client_only:
        body["client"] = {"client_id": token.client_id}
    else:
        user = request.user
        body["user"] = {"id": user.pk, "username": user.get_username()} if user.is_authenticated else None
    return Response(body)


@require_safe
@require_scopes("read")
def ping(request):
    return JsonResponse({"pong": True, "client_id": request.oauth.client_id})


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "text", "created_at"]


class NoteList(generics.ListCreateAPIView):
    """GET needs ``read``; POST needs ``write``."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasReadWriteScopes, TokenHasUser]
    serializer_class = NoteSerializer

    def get_queryset(self):
        return Note.objects.filter(owner=self.request.user)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


class NoteDetail(generics.RetrieveDestroyAPIView):
    """GET needs ``read``; DELETE needs ``notes:delete``."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasReadWriteScopes, TokenHasUser]
    serializer_class = NoteSerializer
    read_scopes = ["read"]
    write_scopes = ["notes:delete"]

    def get_queryset(self):
        return Note.objects.filter(owner=self.request.user)
