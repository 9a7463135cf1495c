"""The end-session endpoint's protocol logic (OpenID Connect RP-Initiated Logout 1.0 §2, §3).

Parameters: ``id_token_hint``, ``client_id``, ``post_logout_redirect_uri``, ``state``,
``ui_locales`` (and ``logout_hint``, accepted and unused). Rules:

- ``id_token_hint`` must be an ID Token this server issued (signature, ``iss``; ``aud`` is the
  ``client_id`` when both are sent); an expired one is fine (§2), a forged one is an error page.
- ``post_logout_redirect_uri`` is used only when the client is identified (by ``client_id`` or the
  hint's ``aud``) and it is *exactly* one of its registered ``post_logout_redirect_uris`` (§3);
  otherwise the user is never redirected (an error page says why).
- The user is logged out at once only when the request clearly comes from their own relying party:
  a valid hint whose ``sub`` is the signed-in user's as that client sees it. Otherwise a
  confirmation page asks (§2: a logout request may be forged by any site).

Every refusal is an OAuthError without a redirect target: the error page, never a redirect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from oauth_provider import audit, http
from oauth_provider.crypto import constant_time_equals
from oauth_provider.errors import InvalidClient, InvalidRequest
from oauth_provider.models import Application
from oauth_provider.oidc.id_tokens import InvalidIdTokenHint, verify_id_token_hint
from oauth_provider.oidc.subjects import subject_for_client

PARAMETERS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales", "logout_hint")


@dataclass(frozen=True)
class LogoutRequest:
    client: Application | None
    # The verified post_logout_redirect_uri, or None: then the user stays on this server.
    redirect_uri: str | None
    state: str | None
    hint_subject: str | None
    ui_locales: str | None
    # The parameters as sent (for the confirmation form to post back).
    params: Mapping[str, str]

    @property
    def location(self) -> str | None:
        """Where the user goes after logging out (§3: with ``state`` when one was sent)."""
        if self.redirect_uri is None:
            return None
        if self.state is None:
            return self.redirect_uri
        separator = "&" if urlsplit(self.redirect_uri).query else "?"
        return f"{self.redirect_uri}{separator}{urlencode({'state': self.state})}"


def validate_logout_request(query: Any) -> LogoutRequest:
    """Check a logout request (a QueryDict of GET or POST parameters); an OAuthError for the error page."""
    params = http.single_valued(query)
    client_id = params.get("client_id")
    client = None
    if client_id is not None:
        client = Application.objects.filter(client_id=client_id, is_active=True).first()
        if client is None:
            raise InvalidClient("The client is unknown or inactive.", status_code=400)
    hint_subject = None
    hint = params.get("id_token_hint")
    if hint is not None:
        try:
            claims = verify_id_token_hint(hint, client_id=client_id)
        except InvalidIdTokenHint as exc:
            raise InvalidRequest(str(exc)) from None
        if client is None:
            audience = claims["aud"]
            audience = audience if isinstance(audience, str) else (audience[0] if len(audience) == 1 else None)
            client_id = claims.get("azp") if audience is None else audience
            client = Application.objects.filter(client_id=client_id, is_active=True).first() if client_id else None
            if client is None:
                raise InvalidClient("The client of the id_token_hint is unknown or inactive.", status_code=400)
        hint_subject = claims["sub"]
    redirect_uri = params.get("post_logout_redirect_uri")
    if redirect_uri is not None:
        if client is None:
            raise InvalidRequest("post_logout_redirect_uri needs client_id or id_token_hint to name the client.")
        # Exact string comparison (§3), never a prefix or pattern.
        if redirect_uri not in client.post_logout_redirect_uri_list:
            raise InvalidRequest("The post_logout_redirect_uri is not registered for this client.")
    return LogoutRequest(
        client=client,
        redirect_uri=redirect_uri,
        state=params.get("state"),
        hint_subject=hint_subject,
        ui_locales=params.get("ui_locales"),
        params={name: params[name] for name in PARAMETERS if name in params},
    )


def from_own_relying_party(request: LogoutRequest, user: Any) -> bool:
    """The hint names the signed-in user as its client sees them: no confirmation needed."""
    if request.hint_subject is None or request.client is None or not getattr(user, "is_authenticated", False):
        return False
    return constant_time_equals(subject_for_client(user, request.client), request.hint_subject)


def record_logout(request: LogoutRequest, user: Any, *, context: http.RequestContext = http.NO_CONTEXT) -> None:
    audit.record(audit.USER_LOGGED_OUT, context=context, application=request.client, user=user)
