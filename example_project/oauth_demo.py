"""The demo web client (``demo-web``) of the example site: start the authorization code flow with
PKCE and exchange the code on the callback page.

A real client would call the token endpoint over HTTP; the demo calls the same protocol function
in-process, because the single-threaded development server cannot answer a request to itself
while it is still handling the callback.
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import UTC, datetime
from urllib.parse import urlencode

import jwt
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from oauth_provider.conf import oauth_settings
from oauth_provider.crypto import pkce_s256
from oauth_provider.endpoints.token import handle_token_request
from oauth_provider.errors import OAuthError
from oauth_provider.http import RequestContext
from oauth_provider.keys.store import get_jwks

from . import demo

SESSION_KEY = "demo_web_flow"
CLIENT_ID = "demo-web"


def _client() -> demo.DemoClient:
    return next(spec for spec in demo.CLIENTS if spec.client_id == CLIENT_ID)


def callback_uri() -> str:
    return demo.base_url() + "/demo/callback/"


@require_safe
def start(request: HttpRequest) -> HttpResponse:
    """Make a fresh state and PKCE verifier, keep them in the session, send the browser to /authorize."""
    state = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48)
    request.session[SESSION_KEY] = {"state": state, "verifier": verifier}
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": callback_uri(),
            "scope": "read write",
            "state": state,
            "code_challenge": pkce_s256(verifier),
            "code_challenge_method": "S256",
        }
    )
    return redirect(f"{demo.base_url()}/oauth/authorize/?{query}")


@require_safe
def callback(request: HttpRequest) -> HttpResponse:
    """Check state and iss (RFC 9207), exchange the code, show the verified token claims."""
    flow = request.session.pop(SESSION_KEY, None)
    context: dict = {"start_url": "/demo/start/"}
    try:
        body = redeem_authorization_response(request, flow, _client(), callback_uri())
    except DemoFlowProblem as exc:
        context["problem"] = str(exc)
    else:
        context.update(_describe(body))
    response = render(request, "example_project/callback.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _utc(seconds: int) -> str:
    return datetime.fromtimestamp(int(seconds), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _describe(body: dict) -> dict:
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKSet.from_dict(get_jwks())[header["kid"]]
    claims = jwt.decode(token, key, algorithms=[header["alg"]], audience=oauth_settings.access_token_audience)
    return {
        "claims": claims,
        "header_json": json.dumps(header, indent=2),
        "claims_json": json.dumps(claims, indent=2),
        # iat / exp as dates too (UTC, ISO 8601), next to the seconds since the epoch.
        "times": [(name, claims[name], _utc(claims[name])) for name in ("iat", "nbf", "exp") if name in claims],
        "expires_in": body["expires_in"],
        "scope": body.get("scope", ""),
        "has_refresh_token": "refresh_token" in body,
    }


class DemoFlowProblem(Exception):
    """Why a demo callback did not end with tokens, worded for the page."""


def redeem_authorization_response(request: HttpRequest, flow: dict | None, spec, redirect_uri: str) -> dict:
    """Check the authorization response as a client must (state, then iss: RFC 9207) and redeem its code
    with the flow's PKCE verifier; the token response body, or DemoFlowProblem."""
    if flow is None or not hmac.compare_digest(request.GET.get("state", ""), flow["state"]):
        raise DemoFlowProblem("Unknown or missing state: start the flow again.")
    if request.GET.get("iss") != oauth_settings.ISSUER:
        raise DemoFlowProblem("The response does not come from this issuer (iss mismatch).")
    if "error" in request.GET:
        raise DemoFlowProblem(f"{request.GET['error']}: {request.GET.get('error_description', '')}")
    try:
        return handle_token_request(
            {
                "grant_type": "authorization_code",
                "code": request.GET.get("code", ""),
                "redirect_uri": redirect_uri,
                "code_verifier": flow["verifier"],
                "client_id": spec.client_id,
                "client_secret": spec.secret or "",
            },
            context=RequestContext.from_request(request),
        )
    except OAuthError as exc:
        raise DemoFlowProblem(f"{exc.error}: {exc.description}") from exc
