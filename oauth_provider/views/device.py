"""The device authorization endpoint (RFC 8628 §3.1) and the verification page users visit (§3.3).

The page is two steps: the user enters the code (pre-filled from ``verification_uri_complete``),
then confirms on a page that names the client and the scopes (§5.4, remote phishing), with Approve
and Deny posted under Django's CSRF protection. The code the user entered is kept in the session,
so only the signed-in user who typed it can decide on it, and a decision cannot skip the
rate-limited entry step. Pages carry the same anti-framing, same-origin referrer and no-store headers as
the authorization pages.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from oauth_provider import http
from oauth_provider.endpoints.device import (
    UserCodeError,
    authorize_device,
    decide_device_code,
    find_device_code,
    format_user_code,
    normalise_user_code,
)
from oauth_provider.errors import json_response
from oauth_provider.scopes import describe, parse_scope
from oauth_provider.views.base import OAuthAPIView
from oauth_provider.views.pages import SeeOther, clean_failures, secure

# The normalised user code the signed-in user entered and is confirming.
SESSION_KEY = "oauth_provider_device_user_code"
DECISIONS = {"approve": True, "deny": False}


class DeviceAuthorizationView(OAuthAPIView):
    """POST /device/: client authentication as at the token endpoint; answers RFC 8628 §3.2."""

    http_method_names = ["post"]
    throttle_scope = "oauth_device_authorization"
    body_only_parameters = ("client_secret", "client_assertion")

    def post(self, request, *args, **kwargs):
        self.refuse_credentials_in_url(request)  # also when the body is empty
        # A confidential client asking for its default scope may send no body at all.
        empty = request.META.get("CONTENT_LENGTH") in (None, "", "0")
        authorization = authorize_device(
            {} if empty else self.form_params(request),
            resources=[] if empty else self.resources(request),
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            context=self.context(request),
        )
        return json_response(authorization.response_body())


def _entry_page(request: HttpRequest, entered: str, error: UserCodeError | None = None) -> HttpResponse:
    status = error.status_code if error else 200
    response = render(
        request, "oauth_provider/device_entry.html", {"user_code": entered, "error": error}, status=status
    )
    for name, value in (error.headers if error else {}).items():
        response[name] = value  # Retry-After when rate-limited
    return secure(response)


@clean_failures
@csrf_protect
@require_http_methods(["GET", "POST"])
def device_verify_view(request: HttpRequest) -> HttpResponse:
    """GET: the code entry form (with ``?user_code=``: the confirmation page). POST ``user_code``: the
    confirmation page. POST ``decision``: decide."""
    if not request.user.is_authenticated:
        return secure(redirect_to_login(request.get_full_path(), settings.LOGIN_URL))
    context = http.RequestContext.from_request(request)
    if request.method == "GET":
        entered = request.GET.get("user_code", "")[:64]
        if not entered:
            return _entry_page(request, "")
        # verification_uri_complete (RFC 8628 §3.3.1): straight to the confirmation, one click to decide.
        # A GET still decides nothing: Approve / Deny are a CSRF-protected POST.
        return _confirm_page(request, entered, context)
    if "decision" in request.POST:
        return _decide(request, context)
    return _confirm_page(request, request.POST.get("user_code", "")[:64], context)


def _confirm_page(request: HttpRequest, entered: str, context: http.RequestContext) -> HttpResponse:
    try:
        code = find_device_code(entered, user=request.user, context=context)
    except UserCodeError as error:
        return _entry_page(request, entered, error)
    request.session[SESSION_KEY] = code.user_code
    response = render(
        request,
        "oauth_provider/device_confirm.html",
        {
            "client": code.application,
            "scopes": describe(parse_scope(code.scope)),
            "user_code": format_user_code(code.user_code),
        },
    )
    return secure(response)


def _decide(request: HttpRequest, context: http.RequestContext) -> HttpResponse:
    approved = DECISIONS.get(request.POST.get("decision", ""))
    user_code = request.session.pop(SESSION_KEY, None)
    confirmed = normalise_user_code(request.POST.get("user_code", ""))
    if approved is None or user_code is None or confirmed != user_code:
        # No code entered in this session, a forged form, or a confirmation page of an earlier entry
        # (another tab): deciding would apply to a code the user is not looking at. Start again.
        return _entry_page(request, "", UserCodeError(UserCodeError.UNKNOWN))
    try:
        decide_device_code(user_code, user=request.user, approved=approved, context=context)
    except UserCodeError as error:
        return _entry_page(request, "", error)
    outcome = "approved" if approved else "denied"
    return secure(SeeOther(f"{reverse('oauth_provider:device_verify_done')}?outcome={outcome}"))


@clean_failures
@require_safe
def device_verify_done_view(request: HttpRequest) -> HttpResponse:
    """Where the decision redirects (303): tell the user to go back to the device."""
    approved = request.GET.get("outcome") == "approved"
    return secure(render(request, "oauth_provider/device_done.html", {"approved": approved}))
