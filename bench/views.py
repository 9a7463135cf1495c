"""The floors the benchmark compares against: what the framework costs with no OAuth at all."""

from django.http import JsonResponse
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from oauth_provider.resource.authentication import BearerTokenAuthentication
from oauth_provider.resource.permissions import HasScopes


def bare_json(request):
    """Floor A: a bare Django JSON view (no DRF, no database)."""
    return JsonResponse({"ok": True})


class OpenProfileView(APIView):
    """Floor B: the shape of the demo API's protected view (DRF, JSON out), with no authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"sub": "anonymous", "client_id": None, "scope": ""})


class ProtectedProfileView(APIView):
    """Case 4: floor B's view behind the bearer-token authentication class and a scope permission.

    It answers from the token alone (no user row), so the difference to floor B is exactly the cost
    of validating the JWT and checking its scope.
    """

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScopes]
    required_scopes = ["read"]

    def get(self, request):
        token = request.auth
        return Response({"sub": token.subject, "client_id": token.client_id, "scope": " ".join(token.scopes)})
