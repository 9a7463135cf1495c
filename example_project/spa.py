"""The demo single-page app (``demo-spa``): a static page whose script runs the authorization code
flow with PKCE S256 in the browser, as a public client with no secret.

The server only hands out the page and its configuration (as ``data-`` attributes, so the page
needs no inline script); everything else, discovery included, happens in ``spa.js``. The page is
served with a strict Content-Security-Policy: only this origin's scripts, styles and endpoints.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import demo

CLIENT_ID = "demo-spa"
CONTENT_SECURITY_POLICY = "default-src 'self'; frame-ancestors 'none'"


def _client() -> demo.DemoClient:
    return next(spec for spec in demo.CLIENTS if spec.client_id == CLIENT_ID)


def redirect_uri() -> str:
    """The exact redirect URI registered for demo-spa by ``seed_demo``: the page itself."""
    return demo.base_url() + _client().redirect_paths[0]


def metadata_url() -> str:
    """Where the issuer's metadata lives (RFC 8414 §3.1: a path in the issuer goes after the well-known part)."""
    issuer = urlsplit(demo.base_url())
    return f"{issuer.scheme}://{issuer.netloc}/.well-known/oauth-authorization-server{issuer.path.rstrip('/')}"


@require_safe
def spa(request: HttpRequest) -> HttpResponse:
    spec = _client()
    context = {
        "client": spec,
        "issuer": demo.base_url(),
        "metadata_url": metadata_url(),
        "redirect_uri": redirect_uri(),
        "scope": spec.scopes,
        "api_base": demo.base_url() + "/api/",
    }
    response = render(request, "example_project/spa.html", context)
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Cache-Control"] = "no-store"
    return response
