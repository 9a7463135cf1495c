"""The authorization endpoint's protocol logic (RFC 6749 §3.1, §4.1, §4.2; RFC 7636; RFC 9207).

Validation runs in the order that keeps the endpoint from being an open redirector
(RFC 6749 §4.1.2.1, RFC 9700 §4.11): first the client and its redirect URI, whose failures are
shown to the user (an OAuthError without ``redirect``); only then everything else, whose failures
go back to the verified redirect URI (the OAuthError's ``redirect`` target) with ``state`` and ``iss``.

A request may instead be pushed first (RFC 9126, ``endpoints/par.py``): ``client_id`` and ``request_uri``
then name it, its stored parameters are validated here the same way, and the decision uses it up
(``clients/pushed_requests.py``). ``resource`` (RFC 8707) names the resources the grant is for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from oauth_provider import audit, crypto, dpop, http
from oauth_provider.clients.consent import consent_covers, remember_consent
from oauth_provider.clients.pushed_requests import (
    as_query,
    claim_pushed_request,
    is_pushed_request_uri,
    spend_pushed_request,
)
from oauth_provider.clients.resources import token_target, validate_resources
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import (
    AccessDenied,
    InvalidClient,
    InvalidRequest,
    InvalidRequestUri,
    InvalidTarget,
    OAuthError,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from oauth_provider.models import Application, AuthorizationCode, ClientType, GrantType, PushedAuthorizationRequest
from oauth_provider.oidc import authentication as oidc
from oauth_provider.redirect_uris import RedirectTarget, redirect_uri_matches
from oauth_provider.scopes import requested_scope, scope_string
from oauth_provider.tokens.issue import issue_access_token

RESPONSE_TYPE_CODE = "code"
RESPONSE_TYPE_TOKEN = "token"
PKCE_S256 = "S256"
PKCE_PLAIN = "plain"

@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request, ready for the user's decision."""

    client: Application
    response_type: str
    redirect_uri: str
    # The redirect_uri parameter as sent, "" when the client relied on its only registered URI.
    redirect_uri_sent: str
    scope: list[str]
    state: str | None
    code_challenge: str = ""
    code_challenge_method: str = ""
    # The prompt parameter as sent (space-separated values, OpenID Connect Core §3.1.2.1); "" when absent.
    prompt: str = ""
    # RFC 9449 §10: the thumbprint of the DPoP key the code will be bound to ("" when none).
    dpop_jkt: str = ""
    # OpenID Connect (Core §3.1.2.1): the parameters of a request with scope openid, else None.
    openid: oidc.OpenIDParameters | None = None
    # RFC 8707: the resources the grant is for.
    resources: tuple[str, ...] = ()
    # RFC 9126: the pushed request this came from, and the claim secret of the browser that holds it.
    pushed: PushedAuthorizationRequest | None = None
    pushed_claim: str = ""

    @property
    def target(self) -> RedirectTarget:
        fragment = self.response_type == RESPONSE_TYPE_TOKEN
        return RedirectTarget(self.redirect_uri, self.state, fragment=fragment)


# --- redirect URIs ----------------------------------------------------------------------------


def resolve_redirect_uri(client: Application, requested: str | None) -> str:
    """The redirect URI to answer at, or an error for the user (RFC 6749 §3.1.2.3)."""
    registered = client.redirect_uri_list
    if requested is None:
        if len(registered) == 1:
            return registered[0]
        raise InvalidRequest("The redirect_uri parameter is required for this client.")
    if any(redirect_uri_matches(requested, uri) for uri in registered):
        return requested
    raise InvalidRequest("The redirect_uri is not registered for this client.")


# --- validation -------------------------------------------------------------------------------


def validate_authorization_request(
    query: Any, *, pushed: bool = False, pushed_claims: Mapping[str, str] | None = None
) -> AuthorizationRequest:
    """Check an authorization request (a QueryDict of the GET parameters) in the safe order.

    Every failure is an OAuthError; those found after the redirect URI is verified carry it as
    their ``redirect`` target. ``pushed``: these are the parameters of a pushed request (at push time
    or at use). ``pushed_claims``: the browser's claim secrets, by request_uri digest.
    """
    params, problems = http.read_parameters(query)
    bad = [name[: http.MAX_NAME_LENGTH] for name, _problem in problems]
    # 1. The client and the redirect URI: failures here must not redirect anywhere.
    if "client_id" in bad or "redirect_uri" in bad:
        raise InvalidRequest("client_id and redirect_uri must each be sent once.")
    client_id = params.get("client_id")
    if not client_id:
        raise InvalidRequest("The client_id parameter is required.")
    client = Application.objects.filter(client_id=client_id, is_active=True).first()
    if client is None:
        # Shown on the error page, which is a 400 like every other page error.
        raise InvalidClient("The client is unknown or inactive.", status_code=400)
    if "request_uri" in bad:
        raise InvalidRequest("request_uri must be sent once.")
    if "request_uri" in params and not pushed:
        return _pushed_request(client, params["request_uri"], pushed_claims or {})
    redirect_uri = resolve_redirect_uri(client, params.get("redirect_uri"))

    # 2. Everything else is reported to the client at its verified redirect URI.
    state = params.get("state") if "state" not in bad else None
    state_malformed = state is not None and http.has_control_character(state)
    if state_malformed:
        state = None  # never echoed: a control character has no place in state (docs/SECURITY.md S30)
    response_type = params.get("response_type")
    target = RedirectTarget(redirect_uri, state, fragment=response_type == RESPONSE_TYPE_TOKEN)
    try:
        if bad:
            raise InvalidRequest(f"The {bad[0]} parameter is repeated or too long.")
        if state_malformed:
            raise InvalidRequest("The state parameter contains a control character.")
        if not pushed and (oauth_settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS
                           or client.require_pushed_authorization_requests):
            raise InvalidRequest("Push the authorization request first (RFC 9126): send client_id and request_uri.")
        if not response_type:
            raise InvalidRequest("The response_type parameter is required.")
        _check_response_type(client, response_type)
        # OpenID Connect Core §6: a request object is refused, never ignored (with or without openid).
        oidc.refuse_request_objects(params)
        resources = validate_resources(http.resources(query))
        if response_type == RESPONSE_TYPE_TOKEN and len(resources) > 1:
            raise InvalidTarget("An access token has one audience: name one resource.")
        scope = requested_scope(client, params.get("scope"))
        challenge, method, jkt = "", "", ""
        if response_type == RESPONSE_TYPE_CODE:
            challenge, method = _check_pkce(client, params)
            jkt = _check_dpop_jkt(params)
        openid = oidc.parse_openid_parameters(client, params, scope) if oidc.OPENID in scope else None
    except OAuthError as error:
        error.redirect = target
        raise
    return AuthorizationRequest(
        client=client,
        response_type=response_type,
        redirect_uri=redirect_uri,
        redirect_uri_sent=params.get("redirect_uri", ""),
        scope=scope,
        state=state,
        code_challenge=challenge,
        code_challenge_method=method,
        prompt=params.get("prompt", ""),
        dpop_jkt=jkt,
        openid=openid,
        resources=tuple(resources),
    )


def _check_dpop_jkt(params: Mapping[str, str]) -> str:
    """RFC 9449 §10: ``dpop_jkt``, the RFC 7638 SHA-256 thumbprint of the key the client will prove."""
    jkt = params.get("dpop_jkt", "")
    if jkt and not dpop.is_jkt(jkt):
        raise InvalidRequest("dpop_jkt must be the base64url SHA-256 JWK thumbprint of the DPoP key.")
    return jkt


def _pushed_request(client: Application, request_uri: str, claims: Mapping[str, str]) -> AuthorizationRequest:
    """RFC 9126 §4: the pushed parameters are the request (others in the query are ignored, RFC 9101 §5).
    Refusals are shown to the user: nothing says yet where the client wants its answers."""
    if not is_pushed_request_uri(request_uri):
        raise InvalidRequestUri("Only request_uri values from this server's PAR endpoint are accepted.")
    pushed, claim = claim_pushed_request(client, request_uri, claims.get(crypto.digest(request_uri)))
    request = validate_authorization_request(as_query(pushed.parameters), pushed=True)
    return replace(request, pushed=pushed, pushed_claim=claim)


def _check_response_type(client: Application, response_type: str) -> None:
    if response_type == RESPONSE_TYPE_CODE:
        if not client.allows_grant(GrantType.AUTHORIZATION_CODE):
            raise UnauthorizedClient("This client is not allowed the authorization code flow.")
        return
    if response_type == RESPONSE_TYPE_TOKEN and implicit_enabled():
        # RFC 9700 §2.1.2: the implicit grant leaks tokens through URLs; clients must opt in.
        if not client.allows_grant(GrantType.IMPLICIT):
            raise UnauthorizedClient("This client is not allowed the implicit flow.")
        return
    raise UnsupportedResponseType(f"The response_type {response_type!r} is not supported.")


def implicit_enabled() -> bool:
    return bool(oauth_settings.IMPLICIT_GRANT_ENABLED)


def _check_pkce(client: Application, params: Mapping[str, str]) -> tuple[str, str]:
    """RFC 7636 §4.3/§4.4.1 with RFC 9700 §2.1.1: required for public clients and by default;
    S256 unless the client opted in to plain."""
    challenge = params.get("code_challenge", "")
    method = params.get("code_challenge_method", "")
    if not challenge:
        if method:
            raise InvalidRequest("code_challenge_method was sent without code_challenge.")
        if client.client_type == ClientType.PUBLIC or client.require_pkce:
            raise InvalidRequest("PKCE is required: send a code_challenge (method S256).")
        return "", ""
    # RFC 7636 §4.3: a missing method means plain.
    method = method or PKCE_PLAIN
    if method == PKCE_PLAIN and not client.allow_plain_pkce:
        raise InvalidRequest("The plain PKCE method is not allowed; use code_challenge_method=S256.")
    if method not in (PKCE_S256, PKCE_PLAIN):
        raise InvalidRequest(f"Unsupported code_challenge_method {method!r}; use S256.")
    if not crypto.is_pkce_value(challenge):
        raise InvalidRequest("code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~].")
    return challenge, method


# --- decisions --------------------------------------------------------------------------------


def remembered_consent_counts(client: Application) -> bool:
    """Whether a consent the user gives this client now spares them the page next time (what the page
    tells them): only while REMEMBER_CONSENT is on, and never for a public client (``consent_needed``)."""
    return client.client_type != ClientType.PUBLIC and bool(oauth_settings.REMEMBER_CONSENT)


def consent_needed(request: AuthorizationRequest, user: Any) -> bool:
    """Whether the user must see the consent page; the one consent decision.

    ``prompt=consent`` always shows it. A public client always shows it (docs/SECURITY.md S29): the
    server cannot tell the app from another program answering at its redirect URI (a loopback URI
    matches on any port, a private-use scheme can be claimed by any app), so neither a remembered
    consent nor an admin's trust flag stands in for the user's decision (RFC 8252 §8.6, RFC 6749 §10.2).
    Otherwise trusted first-party clients, and remembered consent that covers the scopes, skip the page.
    """
    if "consent" in request.prompt.split(" "):
        return True
    if request.client.client_type == ClientType.PUBLIC:
        return True
    if request.client.skip_consent:
        return False
    return not consent_covers(user, request.client, request.scope)


def next_step(request: AuthorizationRequest, browser: Any, *, marker: str | None, deciding: bool = False) -> str | None:
    """OpenID Connect (Core §3.1.2.1): ``oidc.LOGIN``, ``oidc.CONSENT`` or None (answer now) for a
    request with ``openid``; ``prompt=none`` errors go to the client's redirect URI with state and iss.

    ``browser`` is the HttpRequest (its user and session); ``deciding`` is True when the user has
    just answered the consent page (the consent is being given).
    """
    if request.openid is None:
        raise ValueError("next_step is for OpenID Connect requests")
    # Deciding: the user is answering the consent page now, so no consent is missing.
    needed = not deciding and (not browser.user.is_authenticated or consent_needed(request, browser.user))
    try:
        step = oidc.interaction(request.openid, request.client, browser, consent_needed=needed, marker=marker)
    except OAuthError as error:
        error.redirect = request.target
        raise
    return None if deciding and step == oidc.CONSENT else step


def approve(
    request: AuthorizationRequest, user: Any, *, context: http.RequestContext = http.NO_CONTEXT,
    auth_time: int | None = None,
) -> str:
    """Issue the code (or, for the implicit flow, the token) and return the redirect location.

    ``auth_time`` (seconds since the epoch) is when the user logged in, kept with the code for the
    ID Token (OpenID Connect Core §2), like the request's ``nonce`` and ``claims``.
    """
    with transaction.atomic():
        _spend(request)
        if request.response_type == RESPONSE_TYPE_TOKEN:
            return _issue_implicit_token(request, user, context)
        code = crypto.generate_secret()
        record = AuthorizationCode.objects.create(
            code_digest=crypto.digest(code),
            application=request.client,
            user=user,
            redirect_uri=request.redirect_uri_sent,
            scope=scope_string(request.scope),
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            dpop_jkt=request.dpop_jkt,
            resources=list(request.resources),
            expires_at=timezone.now() + timedelta(seconds=oauth_settings.AUTHORIZATION_CODE_LIFETIME),
            **_openid_fields(request, auth_time),
        )
        audit.record(
            audit.CODE_ISSUED, context=context, application=request.client, user=user,
            code_id=record.pk, scope=record.scope,
        )
    return request.target.location({"code": code})


def _openid_fields(request: AuthorizationRequest, auth_time: int | None) -> dict[str, Any]:
    if request.openid is None:
        return {}
    return {
        "nonce": request.openid.nonce,
        "auth_time": datetime.fromtimestamp(auth_time, tz=UTC) if auth_time is not None else None,
        "claims": dict(request.openid.claims),
    }


def _spend(request: AuthorizationRequest) -> None:
    """A pushed request is used up by the decision on it: one code (or one denial) per request_uri."""
    if request.pushed is not None:
        spend_pushed_request(request.pushed, request.pushed_claim)


def _issue_implicit_token(request: AuthorizationRequest, user: Any, context: http.RequestContext) -> str:
    """RFC 6749 §4.2.2: the token in the fragment, never a refresh token."""
    target = token_target(list(request.resources), None, request.scope)
    access = issue_access_token(
        application=request.client, scope=target.scope, grant_type=GrantType.IMPLICIT, user=user,
        audience=target.audience,
    )
    audit.record(
        audit.TOKEN_ISSUED, context=context, application=request.client, user=user,
        grant_type=GrantType.IMPLICIT, jti=access.record.jti, scope=access.record.scope,
    )
    return request.target.location(
        {
            "access_token": access.token,
            "token_type": "Bearer",
            "expires_in": access.expires_in,
            "scope": scope_string(target.scope),
        }
    )


def deny(
    request: AuthorizationRequest, user: Any, *, context: http.RequestContext = http.NO_CONTEXT
) -> str:
    """The user said no: ``access_denied`` at the client's redirect URI (RFC 6749 §4.1.2.1)."""
    _spend(request)
    audit.record(
        audit.CONSENT_DENIED, context=context, application=request.client, user=user,
        scope=scope_string(request.scope),
    )
    return request.target.location(AccessDenied("The user denied the request.").as_dict())


def record_consent(
    request: AuthorizationRequest, user: Any, *, context: http.RequestContext = http.NO_CONTEXT
) -> None:
    """The user said yes on the consent page: remember it (per setting) and audit it."""
    remember_consent(user, request.client, request.scope)
    audit.record(
        audit.CONSENT_GRANTED, context=context, application=request.client, user=user,
        scope=scope_string(request.scope),
    )
