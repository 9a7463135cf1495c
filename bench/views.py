"""The floors the benchmark compares against: what the framework costs with no OAuth at all."""

from django.http import JsonResponse
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


def bare_json(request):
    """Floor A: a bare Django JSON view (no DRF, no database)."""
    return JsonResponse({"ok": True})


class OpenProfileView(APIView):
    """Floor B: the shape of the demo API's protected view (DRF, JSON out), with no authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"sub": "anonymous", "client_id": None, "scope": ""})
