"""The authorization endpoint (RFC 6749 §3.1) and the page where users revoke remembered consent.

Thin HTML views: parse, call ``oauth_provider.endpoints.authorize``, render through ``views.pages``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from oauth_provider import http
from oauth_provider.clients.consent import consents_of, revoke_consent
from oauth_provider.endpoints.authorize import (
    approve,
    consent_needed,
    deny,
    next_step,
    record_consent,
    remembered_consent_counts,
    validate_authorization_request,
)
from oauth_provider.oidc import authentication as oidc
from oauth_provider.oidc.claims import SCOPE_CLAIMS
from oauth_provider.oidc.sessions import LOGIN_MARKER_PARAMETER, auth_time, login_marker
from oauth_provider.redirect_uris import display_host
from oauth_provider.scopes import describe
from oauth_provider.views.pages import SeeOther, clean_failures, error_page, redirect, secure


@clean_failures
@csrf_protect
@require_http_methods(["GET", "POST"])
def authorize_view(request: HttpRequest) -> HttpResponse:
    """GET shows the consent page (or answers at once when consent is not needed); POST decides.

    The consent form posts back to this URL with the same query string, so the POST re-validates
    the whole request and only the user's choice travels in the body.
    """
    # An OAuthError goes to the error page or, once the redirect URI is verified, to the client
    # (clean_failures renders it).
    authz = validate_authorization_request(request.GET, pushed_claims=request.session.get(PUSHED_CLAIMS, {}))
    if authz.pushed is not None:
        _keep_claim(request, authz.pushed.request_uri_digest, authz.pushed_claim)
    if authz.openid is not None:
        return _openid_authorize(request, authz)
    if not request.user.is_authenticated:
        return secure(redirect_to_login(request.get_full_path(), settings.LOGIN_URL))
    context = http.RequestContext.from_request(request)
    if request.method == "POST":
        return _decide(request, authz, context)
    if not consent_needed(authz, request.user):
        return redirect(approve(authz, request.user, context=context), request)
    return _consent_page(request, authz)


def _decide(request: HttpRequest, authz, context: http.RequestContext, *, auth_time: int | None = None) -> HttpResponse:
    """The user's answer on the consent page (a CSRF-protected POST): Deny, or Allow (consent and code
    together or not at all)."""
    decision = request.POST.get("decision")
    if decision == "deny":
        return redirect(deny(authz, request.user, context=context), request)
    if decision != "allow":
        return error_page(request, "invalid_request", "Choose Allow or Deny.")
    with transaction.atomic():
        record_consent(authz, request.user, context=context)
        location = approve(authz, request.user, context=context, auth_time=auth_time)
    return redirect(location, request)


def _consent_page(request: HttpRequest, authz) -> HttpResponse:
    response = render(
        request,
        "oauth_provider/consent.html",
        {
            "client": authz.client,
            "scopes": describe(authz.scope),
            # (scope, description, the claims it discloses) for the OpenID Connect scopes (Core §5.4).
            "disclosed": [(name, text, SCOPE_CLAIMS[name]) for name, text in describe(authz.scope)
                          if name in SCOPE_CLAIMS],
            "action": request.get_full_path(),
            "redirect_host": authz.redirect_uri.split("?", 1)[0],
            "redirect_domain": display_host(authz.redirect_uri),
            "remembered": remembered_consent_counts(authz.client),
            "logout_url": _logout_url(),
        },
    )
    return secure(response)


def _openid_authorize(request: HttpRequest, authz) -> HttpResponse:
    """A request with scope openid: prompt, max_age, id_token_hint decide first (Core §3.1.2.1)."""
    marker = request.GET.get(LOGIN_MARKER_PARAMETER)
    deciding = request.method == "POST" and request.user.is_authenticated
    step = next_step(authz, request, marker=marker, deciding=deciding)
    if step == oidc.LOGIN:
        return secure(_login_redirect(request, authz))
    context = http.RequestContext.from_request(request)
    when = auth_time(request)
    if request.method == "POST":
        return _decide(request, authz, context, auth_time=when)
    if step == oidc.CONSENT:
        return _consent_page(request, authz)
    return redirect(approve(authz, request.user, context=context, auth_time=when), request)


def _login_redirect(request: HttpRequest, authz) -> HttpResponse:
    """To the login page, coming back to this request with a fresh "login asked at" marker (so the
    login it asks for satisfies prompt=login and max_age, even max_age=0) and the login_hint."""
    query = request.GET.copy()
    query[LOGIN_MARKER_PARAMETER] = login_marker()
    response = redirect_to_login(f"{request.path}?{query.urlencode()}", settings.LOGIN_URL)
    hint = authz.openid.login_hint if authz.openid is not None else None
    if hint:
        response["Location"] += "&" + urlencode({"login_hint": hint})
    return response


# The claim secrets of the pushed requests (RFC 9126) this browser arrived with, by request_uri digest.
PUSHED_CLAIMS = "oauth_provider_pushed_claims"


def _keep_claim(request: HttpRequest, request_uri_digest: str, claim: str) -> None:
    claims = dict(request.session.get(PUSHED_CLAIMS, {}))
    if claims.get(request_uri_digest) != claim:
        claims[request_uri_digest] = claim
        request.session[PUSHED_CLAIMS] = dict(list(claims.items())[-5:])  # a few at most


def _logout_url() -> str | None:
    """The project's logout view (Django's ``logout`` URL name), for "Not you? Sign out"; None without one."""
    try:
        return reverse("logout")
    except NoReverseMatch:
        return None


@clean_failures
@login_required
@require_http_methods(["GET"])
def consent_list_view(request: HttpRequest) -> HttpResponse:
    """The user's remembered consents, each with a revoke button."""
    consents = [(c, describe(c.scope.split())) for c in consents_of(request.user)]
    return secure(render(request, "oauth_provider/consents.html", {"consents": consents}))


@clean_failures
@login_required
@csrf_protect
@require_POST
def consent_revoke_view(request: HttpRequest, consent_id: int) -> HttpResponse:
    revoke_consent(request.user, consent_id, context=http.RequestContext.from_request(request))
    return secure(SeeOther(reverse("oauth_provider:consents")))
