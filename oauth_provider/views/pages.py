"""What every HTML page of the provider shares: security headers, redirects, the error page and clean failures.

Every page and redirect carries anti-framing, same-origin referrer and no-store headers
(docs/SECURITY.md) and no CORS headers.
"""

from __future__ import annotations

import functools
import logging
from urllib.parse import urlsplit

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseRedirectBase
from django.shortcuts import render

from oauth_provider.errors import OAuthError

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


def secure(response: HttpResponse) -> HttpResponse:
    for name, value in PAGE_HEADERS.items():
        response[name] = value
    return response


def redirect(location: str, request: HttpRequest) -> HttpResponse:
    return secure(ClientRedirect(location, after_post=request.method == "POST"))


def error_page(request: HttpRequest, error: str, description: str, status: int = 400) -> HttpResponse:
    response = render(
        request, "oauth_provider/error.html", {"error": error, "description": description}, status=status
    )
    return secure(response)


def oauth_error_answer(request: HttpRequest, error: OAuthError) -> HttpResponse:
    """An OAuthError where it must go: a redirect to its verified target (RFC 6749 §4.1.2.1), or the
    error page when it has none (the client or redirect URI cannot be trusted)."""
    if error.redirect is not None:
        return redirect(error.redirect.location(error.as_dict()), request)
    return error_page(request, error.error, error.description, status=error.status_code)


def clean_failures(view):
    """Every HTML page goes through this. An OAuthError the view raises is answered where it must go
    (``oauth_error_answer``); any other failure becomes the error page, never a traceback or Django's
    own 500 page: 503 ``temporarily_unavailable`` when the database fails, 500 ``server_error``
    otherwise. Writes happen in one transaction, so nothing half-done stays behind."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except OAuthError as error:
            return oauth_error_answer(request, error)
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
