"""The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0): GET and POST from the RP,
a confirmation page when the request is not clearly from the user's own relying party."""

from __future__ import annotations

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from oauth_provider import http
from oauth_provider.endpoints.end_session import (
    LogoutRequest,
    from_own_relying_party,
    record_logout,
    validate_logout_request,
)
from oauth_provider.views.pages import clean_failures, redirect, secure


def _finish(request: HttpRequest, logout_request: LogoutRequest) -> HttpResponse:
    """End the Django session (if any) and send the user back, or show that they are logged out."""
    if request.user.is_authenticated:
        record_logout(logout_request, request.user, context=http.RequestContext.from_request(request))
        logout(request)
    location = logout_request.location
    if location is not None:
        return redirect(location, request)
    return secure(render(request, "oauth_provider/logged_out.html", {"client": logout_request.client}))


@clean_failures
@csrf_exempt  # the RP's own page posts here (§2); nothing happens without a hint or the confirmation
@require_http_methods(["GET", "POST"])
def end_session_view(request: HttpRequest) -> HttpResponse:
    # A refusal (an OAuthError without a redirect) is the error page (clean_failures): never a redirect.
    logout_request = validate_logout_request(request.POST if request.method == "POST" else request.GET)
    if not request.user.is_authenticated or from_own_relying_party(logout_request, request.user):
        return _finish(request, logout_request)
    response = render(
        request,
        "oauth_provider/logout_confirm.html",
        {
            "client": logout_request.client,
            "params": sorted(logout_request.params.items()),
            "action": reverse("oauth_provider:end_session_confirm"),
        },
    )
    return secure(response)


@clean_failures
@csrf_protect
@require_POST
def end_session_confirm_view(request: HttpRequest) -> HttpResponse:
    """The confirmation form: the original parameters again (re-validated) and the user's choice."""
    logout_request = validate_logout_request(_without_decision(request))
    if request.POST.get("decision") != "logout":
        # The user stays signed in; never sent anywhere by a request they did not confirm.
        context = {"client": logout_request.client, "stayed": True}
        return secure(render(request, "oauth_provider/logged_out.html", context))
    return _finish(request, logout_request)


def _without_decision(request: HttpRequest):
    data = request.POST.copy()
    for name in ("decision", "csrfmiddlewaretoken"):
        data.pop(name, None)
    return data
