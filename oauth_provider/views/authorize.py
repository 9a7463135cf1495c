"""The authorization endpoint (RFC 6749 §3.1) and the page where users revoke remembered consent.

Thin HTML views: parse, call ``oauth_provider.authorization``, render. Every page and redirect
carries anti-framing, same-origin referrer and no-store headers (SECURITY.md 8) and no CORS headers.
"""

from __future__ import annotations

import functools
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseRedirectBase
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from .. import audit
from ..authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    approve,
    consent_needed,
    deny,
    record_consent,
    validate_authorization_request,
)
from ..conf import oauth_settings
from ..consent import consents_of, revoke_consent
from ..scopes import describe

logger = logging.getLogger("oauth_provider")

PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    # Never a referrer to another origin; "no-referrer" would also make browsers send "Origin: null"
    # with the page's own form posts, which Django's CSRF check rightly refuses (Fetch §3.2.5).
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}


class SeeOther(HttpResponseRedirect):
    """303: the browser follows a redirect after a POST with a GET (RFC 9700 §4.12)."""

    status_code = 303


class ClientRedirect(HttpResponseRedirectBase):
    """A redirect to a client's verified redirect URI, which may use a native app's private-use
    scheme (RFC 8252 §7.1); 303 after a POST, 302 otherwise."""

    def __init__(self, location: str, *, after_post: bool) -> None:
        # The URI was matched against the client's registration before any redirect is built.
        self.allowed_schemes = [urlsplit(location).scheme]
        self.status_code = 303 if after_post else 302
        super().__init__(location)


def _secure(response: HttpResponse) -> HttpResponse:
    for name, value in PAGE_HEADERS.items():
        response[name] = value
    return response


def _redirect(location: str, request: HttpRequest) -> HttpResponse:
    return _secure(ClientRedirect(location, after_post=request.method == "POST"))


def error_page(request: HttpRequest, error: str, description: str, status: int = 400) -> HttpResponse:
    response = render(
        request, "oauth_provider/error.html", {"error": error, "description": description}, status=status
    )
    return _secure(response)


def clean_failures(view):
    """A failure inside the view becomes the error page, never a traceback: 503
    ``temporarily_unavailable`` when the database fails, 500 ``server_error`` otherwise. Writes
    happen in one transaction, so nothing half-done stays behind."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (BadRequest, SuspiciousOperation, MultiPartParserError):
            # An unreadable request (a form body in a charset other than UTF-8, a broken multipart body).
            return error_page(request, "invalid_request", "The request could not be read.")
        except DatabaseError:
            logger.exception("database error in %s", view.__name__)
            return error_page(
                request, "temporarily_unavailable", "The server is temporarily unable to handle the request; "
                "try again in a moment.", status=503,
            )
        except Exception:
            logger.exception("unexpected error in %s", view.__name__)
            return error_page(request, "server_error", "The server met an unexpected condition.", status=500)

    return wrapper


@clean_failures
@csrf_protect
@require_http_methods(["GET", "POST"])
def authorize_view(request: HttpRequest) -> HttpResponse:
    """GET shows the consent page (or answers at once when consent is not needed); POST decides.

    The consent form posts back to this URL with the same query string, so the POST re-validates
    the whole request and only the user's choice travels in the body.
    """
    try:
        authz = validate_authorization_request(request.GET)
    except AuthorizationPageError as exc:
        return error_page(request, exc.error, exc.description)
    except AuthorizationRedirectError as exc:
        return _redirect(exc.location, request)
    if not request.user.is_authenticated:
        return _secure(redirect_to_login(request.get_full_path(), settings.LOGIN_URL))
    context = audit.RequestContext.from_request(request)
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision == "deny":
            return _redirect(deny(authz, request.user, context=context), request)
        if decision != "allow":
            return error_page(request, "invalid_request", "Choose Allow or Deny.")
        with transaction.atomic():
            # Consent and code together or not at all.
            record_consent(authz, request.user, context=context)
            location = approve(authz, request.user, context=context)
        return _redirect(location, request)
    if not consent_needed(authz, request.user):
        return _redirect(approve(authz, request.user, context=context), request)
    response = render(
        request,
        "oauth_provider/consent.html",
        {
            "client": authz.client,
            "scopes": describe(authz.scope),
            "action": request.get_full_path(),
            "redirect_host": authz.redirect_uri.split("?", 1)[0],
            "remembered": oauth_settings.REMEMBER_CONSENT,
            "logout_url": _logout_url(),
        },
    )
    return _secure(response)


def _logout_url() -> str | None:
    """The project's logout view (Django's ``logout`` URL name), for "Not you? Sign out"; None without one."""
    try:
        return reverse("logout")
    except NoReverseMatch:
        return None


@login_required
@require_http_methods(["GET"])
def consent_list_view(request: HttpRequest) -> HttpResponse:
    """The user's remembered consents, each with a revoke button."""
    consents = [(c, describe(c.scope.split())) for c in consents_of(request.user)]
    return _secure(render(request, "oauth_provider/consents.html", {"consents": consents}))


@login_required
@csrf_protect
@require_POST
def consent_revoke_view(request: HttpRequest, consent_id: int) -> HttpResponse:
    revoke_consent(request.user, consent_id, context=audit.RequestContext.from_request(request))
    return _secure(SeeOther(reverse("oauth_provider:consents")))
