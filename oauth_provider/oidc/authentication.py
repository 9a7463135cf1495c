"""The OpenID Connect part of an authorization request (Core §3.1.2.1, §3.1.2.6, §5.5, §6).

``parse_openid_parameters`` validates the parameters OpenID Connect adds (its errors go back to
the client's verified redirect URI, so they are ``OAuthError``\\ s); ``interaction`` decides, once
the user's session is known, whether the user must log in again, see the consent page, or
neither, and for ``prompt=none`` raises the error instead of ever showing a page.

Choices this module makes (the README repeats them):

- ``nonce`` is optional with ``response_type=code`` (Core §3.1.2.1: REQUIRED only where the
  authorization endpoint itself returns an ID Token, which this server never does: ``id_token``
  response types are unsupported) and, when sent, is stored with the code and echoed exactly.
- ``prompt=login`` and ``max_age`` send the user to the login page with a signed "login asked at"
  marker; a login after that time satisfies the request, so even ``max_age=0`` completes after
  one fresh login and never loops.
- ``prompt=select_account`` has no account chooser to show: it is answered like ``prompt=login``
  (the login page is where a user picks another account).
- ``prompt=consent`` shows the consent page even when consent is remembered or the client is trusted.
- ``id_token_hint`` must be an ID Token this server issued to this client (signature, ``iss``,
  ``aud``); a signed-in user other than its ``sub`` must log in again (``login_required`` with
  ``prompt=none``). The same holds for a ``claims`` request asking ``sub`` with a ``value``.
- ``request`` is refused (``request_not_supported``), with or without ``openid``: never silently
  ignored; so is the ``registration`` parameter (``registration_not_supported``, Core §7.2.1). A
  ``request_uri`` is accepted only as a pushed request of this server (RFC 9126, endpoints/authorize).
- ``redirect_uri`` is REQUIRED with ``openid`` (Core §3.1.2.1), even for a client with a single
  registered URI (which plain OAuth lets it leave out, RFC 6749 §3.1.2.3).
- ``prompt=none`` never needs ``interaction_required`` or ``account_selection_required``: the only
  pages are the login and consent pages, answered by ``login_required`` and ``consent_required``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oauth_provider.crypto import constant_time_equals
from oauth_provider.errors import (
    ConsentRequired,
    InvalidRequest,
    LoginRequired,
    RegistrationNotSupported,
    RequestNotSupported,
)
from oauth_provider.models import Application
from oauth_provider.oidc.claims import parse_claims_request
from oauth_provider.oidc.id_tokens import InvalidIdTokenHint, verify_id_token_hint
from oauth_provider.oidc.sessions import auth_time, logged_in_since, login_is_fresh
from oauth_provider.oidc.subjects import subject_for_client

OPENID = "openid"
PROMPT_NONE, PROMPT_LOGIN, PROMPT_CONSENT, PROMPT_SELECT_ACCOUNT = "none", "login", "consent", "select_account"
PROMPTS = frozenset({PROMPT_NONE, PROMPT_LOGIN, PROMPT_CONSENT, PROMPT_SELECT_ACCOUNT})
_MAX_AGE = re.compile(r"[0-9]{1,10}")

# What the authorization endpoint must do before it may answer.
LOGIN, CONSENT = "login", "consent"


@dataclass(frozen=True)
class OpenIDParameters:
    """The validated OpenID Connect parameters of an authorization request with scope ``openid``."""

    nonce: str = ""
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    login_hint: str | None = None
    hinted_subject: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def none(self) -> bool:
        return PROMPT_NONE in self.prompt


def refuse_request_objects(params: Mapping[str, str]) -> None:
    """Core §6: request objects are not supported, and say so (never ignored)."""
    if "request" in params:
        raise RequestNotSupported("Request objects (the request parameter) are not supported by this server.")
    if "registration" in params:
        raise RegistrationNotSupported("The registration parameter is not supported; register the client first.")


def parse_openid_parameters(client: Application, params: Mapping[str, str], scope: list[str]) -> OpenIDParameters:
    """The OpenID Connect parameters, or InvalidRequest (to the redirect URI). Call only with openid."""
    if "redirect_uri" not in params:
        raise InvalidRequest("The redirect_uri parameter is required with the openid scope.")
    prompt = frozenset(params.get("prompt", "").split())
    unknown = sorted(prompt - PROMPTS)
    if unknown:
        raise InvalidRequest(f"Unsupported prompt value: {' '.join(unknown)}.")
    if PROMPT_NONE in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other prompt values.")
    raw_max_age = params.get("max_age")
    if raw_max_age is None:
        max_age = client.default_max_age
    elif _MAX_AGE.fullmatch(raw_max_age):
        max_age = int(raw_max_age)
    else:
        raise InvalidRequest("max_age must be a number of seconds.")
    try:
        claims = parse_claims_request(params.get("claims"))
    except ValueError as exc:
        raise InvalidRequest(f"Invalid claims parameter: {exc}.") from None
    hinted = None
    if "id_token_hint" in params:
        try:
            hinted = verify_id_token_hint(params["id_token_hint"], client_id=client.client_id)["sub"]
        except InvalidIdTokenHint as exc:
            raise InvalidRequest(str(exc)) from None
    # Core §5.5.1: a sub asked with a value names the only user who may be signed in.
    asked_sub = [
        section["sub"]["value"]
        for section in claims.values()
        if isinstance(section.get("sub"), dict) and "value" in section["sub"]
    ]
    for value in asked_sub:
        if not isinstance(value, str):
            raise InvalidRequest("A sub asked with a value must be a string.")
        if hinted is not None and value != hinted:
            raise InvalidRequest("The claims request and the id_token_hint name different users.")
        hinted = value
    return OpenIDParameters(
        nonce=params.get("nonce", ""),
        prompt=prompt,
        max_age=max_age,
        login_hint=params.get("login_hint"),
        hinted_subject=hinted,
        claims=claims,
    )


def interaction(
    openid: OpenIDParameters, client: Application, request: Any, *, consent_needed: bool, marker: str | None = None
) -> str | None:
    """What the user must do first: ``LOGIN``, ``CONSENT`` or None (answer now).

    ``request`` is the HttpRequest (its user and session); ``marker`` the signed "login asked at"
    value the request came back with. With ``prompt=none`` a needed page is an error instead.
    """
    user = request.user
    if not user.is_authenticated:
        if openid.none:
            raise LoginRequired("The user is not signed in.")
        return LOGIN
    fresh_login = logged_in_since(request, marker)
    if openid.hinted_subject is not None and not constant_time_equals(
        subject_for_client(user, client), openid.hinted_subject
    ):
        if openid.none:
            raise LoginRequired("The signed-in user is not the user the request names.")
        if not fresh_login:
            return LOGIN
        # Logged in again and still someone else: the request names a user who is not here.
        raise LoginRequired("The signed-in user is not the user the request names.")
    if openid.prompt & {PROMPT_LOGIN, PROMPT_SELECT_ACCOUNT} and not fresh_login:
        return LOGIN
    if not login_is_fresh(request, openid.max_age, marker=marker):
        if openid.none:
            raise LoginRequired("The user's login is older than max_age allows.")
        return LOGIN
    if client.require_auth_time and auth_time(request) is None and not fresh_login:
        # The session predates login-time recording: the ID Token could not say when.
        if openid.none:
            raise LoginRequired("The time of the user's login is unknown; the client requires it.")
        return LOGIN
    if PROMPT_CONSENT in openid.prompt or consent_needed:
        if openid.none:
            raise ConsentRequired("The user has not allowed this client the requested scope.")
        return CONSENT
    return None
