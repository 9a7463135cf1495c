""""Sign in with the demo provider": the example site's OpenID Connect relying party (``demo-rp``).

It runs the code flow with ``openid profile email``, a ``nonce``, ``state`` and PKCE, validates the
ID Token by the rules of OpenID Connect Core §3.1.3.7 (and ``at_hash``, §3.1.3.8), calls UserInfo,
checks that its ``sub`` is the ID Token's (§5.3.4), and offers RP-initiated logout.

Like the demo web client, it calls the token and UserInfo endpoints' protocol functions in-process:
the single-threaded development server cannot answer a request to itself during a request. A
separate RP would make the same calls over HTTP (see the README's Authlib example).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import urlencode

import jwt
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from oauth_provider.conf import oauth_settings
from oauth_provider.crypto import pkce_s256
from oauth_provider.endpoints.userinfo import userinfo
from oauth_provider.errors import OAuthError
from oauth_provider.keys.store import get_jwks

from . import demo
from .oauth_demo import DemoFlowProblem, redeem_authorization_response

CLIENT_ID = "demo-rp"
FLOW_KEY = "demo_rp_flow"
SIGNED_IN_KEY = "demo_rp_signed_in"
# The algorithm demo-rp registered (id_token_signed_response_alg): the only one it accepts.
EXPECTED_ALGORITHM = "RS256"
IAT_WINDOW = 600


class IdTokenRejected(Exception):
    """The ID Token breaks a rule of Core §3.1.3.7; the message names the rule."""


def _client() -> demo.DemoClient:
    return next(spec for spec in demo.CLIENTS if spec.client_id == CLIENT_ID)


def callback_uri() -> str:
    return demo.base_url() + "/demo/oidc/callback/"


def home_uri() -> str:
    return demo.base_url() + "/demo/oidc/"


def validate_id_token(id_token: str, *, nonce: str, access_token: str | None) -> dict:
    """Core §3.1.3.7 steps 2-13 as a relying party applies them (1 and 14 concern encryption and acr)."""
    header = jwt.get_unverified_header(id_token)
    # 7-8: the alg must be the one registered (RS256 by default), never chosen by the token.
    if header.get("alg") != EXPECTED_ALGORITHM:
        raise IdTokenRejected(f"alg {header.get('alg')!r} is not the registered {EXPECTED_ALGORITHM}")
    try:
        key = jwt.PyJWKSet.from_dict(get_jwks())[header["kid"]]
    except KeyError:
        raise IdTokenRejected("the ID Token is signed with a key the issuer does not publish") from None
    try:
        # 6 (signature), 2 (iss exact), 3 (aud contains client_id), 9 (exp)
        claims = jwt.decode(
            id_token, key, algorithms=[EXPECTED_ALGORITHM], audience=CLIENT_ID, issuer=oauth_settings.ISSUER,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise IdTokenRejected(str(exc)) from None
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    # 4: several audiences need azp; 5: an azp must be this client.
    if len(audience) > 1 and "azp" not in claims:
        raise IdTokenRejected("several audiences and no azp")
    if "azp" in claims and claims["azp"] != CLIENT_ID:
        raise IdTokenRejected("azp is another client")
    # 10: iat not too far from now.
    if abs(time.time() - claims["iat"]) > IAT_WINDOW:
        raise IdTokenRejected("iat is too far from now")
    # 11: the nonce sent, exactly.
    if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise IdTokenRejected("nonce does not match the one sent")
    # §3.1.3.8: at_hash, when present, binds the access token.
    if access_token is not None and "at_hash" in claims:
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        expected = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")
        if not hmac.compare_digest(claims["at_hash"], expected):
            raise IdTokenRejected("at_hash does not match the access token")
    return claims


@require_safe
def page(request: HttpRequest) -> HttpResponse:
    """The relying party's home: a sign-in button, or who is signed in and how it was verified."""
    context = {"signed_in": request.session.get(SIGNED_IN_KEY), "state_back": request.GET.get("state")}
    response = render(request, "example_project/oidc.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def start(request: HttpRequest) -> HttpResponse:
    flow = {"state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16),
            "verifier": secrets.token_urlsafe(48)}
    request.session[FLOW_KEY] = flow
    query = urlencode({
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": callback_uri(),
        "scope": "openid profile email",
        "state": flow["state"],
        "nonce": flow["nonce"],
        "code_challenge": pkce_s256(flow["verifier"]),
        "code_challenge_method": "S256",
    })
    return redirect(f"{demo.base_url()}/oauth/authorize/?{query}")


@require_safe
def callback(request: HttpRequest) -> HttpResponse:
    flow = request.session.pop(FLOW_KEY, None)
    context: dict = {}
    try:
        body = redeem_authorization_response(request, flow, _client(), callback_uri())
        if "id_token" not in body:
            raise IdTokenRejected("the token response has no id_token")
        claims = validate_id_token(body["id_token"], nonce=flow["nonce"], access_token=body["access_token"])
        info = userinfo(body["access_token"])
        # §5.3.4: the UserInfo sub must be the ID Token's, or the answer is not about this user.
        if info.get("sub") != claims["sub"]:
            raise IdTokenRejected("the UserInfo sub is not the ID Token's")
    except DemoFlowProblem as exc:
        context["problem"] = str(exc)
    except IdTokenRejected as exc:
        context["problem"] = f"The ID Token was rejected: {exc}"
    except OAuthError as exc:  # UserInfo refused the access token
        context["problem"] = f"{exc.error}: {exc.description}"
    else:
        request.session[SIGNED_IN_KEY] = {
            "id_token": body["id_token"],
            "claims_json": json.dumps(claims, indent=2),
            "userinfo_json": json.dumps(info, indent=2),
            "name": info.get("name") or info.get("preferred_username") or claims["sub"],
            "logout_url": logout_url(body["id_token"]),
        }
        return redirect("demo_oidc")
    response = render(request, "example_project/oidc.html", context)
    response["Cache-Control"] = "no-store"
    return response


def logout_url(id_token: str) -> str:
    """RP-Initiated Logout 1.0 §2: the end-session endpoint with the hint, the way back and a state."""
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": home_uri(), "state": "signed-out"})
    return f"{demo.base_url()}/oauth/logout/?{query}"


@require_safe
def forget(request: HttpRequest) -> HttpResponse:
    """The RP's own sign-out (its session only), then on to the provider's end-session endpoint."""
    signed_in = request.session.pop(SIGNED_IN_KEY, None)
    return redirect(signed_in["logout_url"] if signed_in else "demo_oidc")
