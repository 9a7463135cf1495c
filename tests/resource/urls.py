"""One protected view per style, for the resource-side view tests."""

from django.http import JsonResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.response import Response
from rest_framework.views import APIView

from oauth_provider.resource.authentication import BearerTokenAuthentication, DPoPTokenAuthentication
from oauth_provider.resource.decorators import require_scopes
from oauth_provider.resource.permissions import HasReadWriteScopes, HasScopes


def describe(request):
    token = request.oauth
    return {"client_id": token.client_id, "scope": " ".join(token.scopes), "method": request.method}


@require_scopes("read")
def function_view(request):
    return JsonResponse(describe(request))


# Token-protected class-based views opt out of CSRF themselves: a method decorator cannot.
@method_decorator(csrf_exempt, name="dispatch")
class ClassView(View):
    @require_scopes("read")
    def get(self, request):
        return JsonResponse(describe(request))

    @method_decorator(require_scopes("write"))
    def post(self, request):
        return JsonResponse(describe(request))


@api_view(["GET", "POST"])
@authentication_classes([])  # the decorator alone protects it
@permission_classes([])
@require_scopes("read")
def drf_function_view(request):
    return Response(describe(request))


class DRFScopesView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScopes]
    required_scopes = ["read"]

    def get(self, request):
        return Response({"client_id": request.auth.client_id, "user": str(request.user)})


class DRFReadWriteView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasReadWriteScopes]

    def get(self, request):
        return Response({"client_id": request.auth.client_id, "method": "GET"})

    def post(self, request):
        return Response({"client_id": request.auth.client_id, "method": "POST"})


class DRFMissingScopesView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScopes]

    def get(self, request):
        return Response({})


@require_scopes("read", dpop=True)
def dpop_function_view(request):
    return JsonResponse({**describe(request), "jkt": request.oauth_dpop.jkt})


class DRFDPoPView(APIView):
    authentication_classes = [DPoPTokenAuthentication]
    permission_classes = [HasScopes]
    required_scopes = ["read"]

    def get(self, request):
        return Response({"client_id": request.auth.client_id, "jkt": request._request.oauth_dpop.jkt})


def open_view(request):
    """Needs no token: reports what the middleware found."""
    error = request.oauth_error
    return JsonResponse({
        "oauth": request.oauth.client_id if request.oauth else None,
        "oauth_error": error.error if error else None,
    })


urlpatterns = [
    path("function", function_view),
    path("class", ClassView.as_view()),
    path("drf-function", drf_function_view),
    path("drf-scopes", DRFScopesView.as_view()),
    path("drf-read-write", DRFReadWriteView.as_view()),
    path("drf-missing-scopes", DRFMissingScopesView.as_view()),
    path("dpop-function", dpop_function_view),
    path("dpop-drf", DRFDPoPView.as_view()),
    path("open", open_view),
]
