"""The authorization endpoint's protocol logic (RFC 6749 §3.1, §4.1, §4.2; RFC 7636; RFC 9207).

Validation runs in the order that keeps the endpoint from being an open redirector
(RFC 6749 §4.1.2.1, RFC 9700 §4.11): first the client and its redirect URI, whose failures are
shown to the user (an OAuthError without ``redirect``); only then everything else, whose failures
go back to the verified redirect URI (the OAuthError's ``redirect`` target) with ``state`` and ``iss``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from oauth_provider import audit, crypto, http
from oauth_provider.clients.consent import consent_covers, remember_consent
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import (
    AccessDenied,
    InvalidClient,
    InvalidRequest,
    OAuthError,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from oauth_provider.models import Application, AuthorizationCode, ClientType, GrantType
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


def validate_authorization_request(query: Any) -> AuthorizationRequest:
    """Check an authorization request (a QueryDict of the GET parameters) in the safe order.

    Every failure is an OAuthError; those found after the redirect URI is verified carry it as
    their ``redirect`` target.
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
    redirect_uri = resolve_redirect_uri(client, params.get("redirect_uri"))

    # 2. Everything else is reported to the client at its verified redirect URI.
    state = params.get("state") if "state" not in bad else None
    response_type = params.get("response_type")
    target = RedirectTarget(redirect_uri, state, fragment=response_type == RESPONSE_TYPE_TOKEN)
    try:
        if bad:
            raise InvalidRequest(f"The {bad[0]} parameter is repeated or too long.")
        if not response_type:
            raise InvalidRequest("The response_type parameter is required.")
        _check_response_type(client, response_type)
        scope = requested_scope(client, params.get("scope"))
        challenge, method = "", ""
        if response_type == RESPONSE_TYPE_CODE:
            challenge, method = _check_pkce(client, params)
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
    )


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
    if not crypto.PKCE_VALUE_PATTERN.match(challenge):
        raise InvalidRequest("code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~].")
    return challenge, method


# --- decisions --------------------------------------------------------------------------------


def consent_needed(request: AuthorizationRequest, user: Any) -> bool:
    """Trusted first-party clients and remembered consent that covers the scopes skip the page."""
    if request.client.skip_consent:
        return False
    return not consent_covers(user, request.client, request.scope)


def approve(
    request: AuthorizationRequest, user: Any, *, context: http.RequestContext = http.NO_CONTEXT
) -> str:
    """Issue the code (or, for the implicit flow, the token) and return the redirect location."""
    with transaction.atomic():
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
            expires_at=timezone.now() + timedelta(seconds=oauth_settings.AUTHORIZATION_CODE_LIFETIME),
        )
        audit.record(
            audit.CODE_ISSUED, context=context, application=request.client, user=user,
            code_id=record.pk, scope=record.scope,
        )
    return request.target.location({"code": code})


def _issue_implicit_token(request: AuthorizationRequest, user: Any, context: http.RequestContext) -> str:
    """RFC 6749 §4.2.2: the token in the fragment, never a refresh token."""
    access = issue_access_token(
        application=request.client, scope=request.scope, grant_type=GrantType.IMPLICIT, user=user
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
            "scope": access.record.scope,
        }
    )


def deny(
    request: AuthorizationRequest, user: Any, *, context: http.RequestContext = http.NO_CONTEXT
) -> str:
    """The user said no: ``access_denied`` at the client's redirect URI (RFC 6749 §4.1.2.1)."""
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
