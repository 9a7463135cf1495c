"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592).

Decisions (see the README):
- ``REGISTRATION_MODE`` "closed" (default): the endpoint answers 403 ``access_denied`` and the
  metadata does not advertise it. "initial_access_token": the request must carry a Bearer token an
  administrator created (RFC 7591 §3); a missing, unknown, expired or used-up token is 401
  ``invalid_token`` with a Bearer challenge (RFC 6750 §3.1). "open": anyone may register.
- A registered client gets a registration access token (stored as a digest) for its client
  configuration endpoint; it expires after ``REGISTRATION_ACCESS_TOKEN_LIFETIME``. A read echoes the
  token it was called with; an update issues a new one and the old one stops working (RFC 7592 §3);
  the client secret is kept across updates.
- An update never changes the client type or ``token_endpoint_auth_method`` (``invalid_client_metadata``):
  turning a vetted confidential client public would drop the secret that proves who redeems its codes.
  An update that changes the redirect URIs or the scopes makes it another client: the consents users
  gave it are dropped and the admin's ``skip_consent`` is cleared (docs/SECURITY.md S28).
- Wrong initial and registration access tokens count as failed client authentications (per
  address; registration access tokens also per client_id), and open registration has a per-address
  budget of its own (docs/SECURITY.md S27).
- Delete revokes every token of the client (publishing the revoked jtis to resource servers)
  before the row goes, so nothing issued to it keeps working (RFC 7592 §2.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from oauth_provider import audit, crypto, http, ratelimit
from oauth_provider.clients import lifecycle
from oauth_provider.clients.authentication import REGISTRATION, counting_failures
from oauth_provider.clients.consent import forget_consents, trust_basis
from oauth_provider.clients.metadata import apply_client_metadata, client_metadata_body, validate_client_metadata
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import AccessDenied, InvalidClientMetadata, InvalidToken
from oauth_provider.models import Application, InitialAccessToken

CLOSED, INITIAL_ACCESS_TOKEN, OPEN = "closed", "initial_access_token", "open"
REGISTRATION_MODES = (CLOSED, INITIAL_ACCESS_TOKEN, OPEN)
# Members the server sets; a client sending them in an update is ignored (RFC 7592 §2.2).
SERVER_MEMBERS = ("registration_access_token", "registration_client_uri", "client_secret_expires_at",
                  "client_id_issued_at")


def registration_client_uri(client_id: str) -> str:
    issuer = urlsplit(oauth_settings.ISSUER)
    path = reverse("oauth_provider:client_configuration", args=[client_id])
    return f"{issuer.scheme}://{issuer.netloc}{path}"


@dataclass(frozen=True)
class ClientInformation:
    """The client information response (RFC 7591 §3.2.1) and its HTTP status."""

    body: dict[str, Any]
    status: int = 200


# --- RFC 7591: registration ------------------------------------------------------------------------


def register_client(
    body: Any, *, authorization: str = "", context: http.RequestContext = http.NO_CONTEXT
) -> ClientInformation:
    """Register a client (RFC 7591 §3.1) and answer 201 with its information (§3.2.1)."""
    mode = oauth_settings.REGISTRATION_MODE
    if mode not in (INITIAL_ACCESS_TOKEN, OPEN):
        audit.record(audit.REGISTRATION_REFUSED, context=context, reason="closed")
        raise AccessDenied("Dynamic client registration is closed on this server.", status_code=403)
    initial_token_digest = None
    if mode == INITIAL_ACCESS_TOKEN:
        initial_token_digest = _usable_initial_access_token(http.bearer_credentials(authorization), context)
    metadata = validate_client_metadata(body)
    if mode == OPEN:
        # Anyone may register: the rows they create have a per-address budget (docs/SECURITY.md S27).
        ratelimit.limit_per_address(ratelimit.open_registrations(), context)
    application = Application()
    apply_client_metadata(application, metadata)
    # A private_key_jwt client proves itself with its key: it gets no secret.
    needs_secret = application.is_confidential and not application.uses_private_key_jwt
    secret = application.generate_secret() if needs_secret else None
    registration_token = _new_registration_token(application)
    with transaction.atomic():
        initial_token_id = None
        if initial_token_digest is not None:
            initial_token_id = _consume_initial_access_token(initial_token_digest, context)
        application.save()
        audit.record(audit.CLIENT_REGISTERED, context=context, application=application,
                     initial_access_token_id=initial_token_id, client_type=application.client_type)
    return ClientInformation(_information(application, registration_token, secret), status=201)


def _new_registration_token(application: Application) -> str:
    """Give the client a new registration access token (digest and expiry set, not saved) and return it."""
    token = crypto.generate_secret()
    application.registration_access_token_digest = crypto.digest(token)
    lifetime = oauth_settings.REGISTRATION_ACCESS_TOKEN_LIFETIME
    application.registration_access_token_expires_at = (
        None if lifetime is None else timezone.now() + timedelta(seconds=lifetime)
    )
    return token


def _usable_initial_access_token(token: str | None, context: http.RequestContext) -> str:
    """The digest of a presented, unexpired, not used-up initial access token, or 401."""
    if not token:
        audit.record(audit.REGISTRATION_REFUSED, context=context, reason="no_initial_access_token")
        raise InvalidToken("An initial access token is required to register.", headers=http.bearer_challenge(None))
    token_digest = crypto.digest(token)
    # A wrong token is a failed client authentication of no named client: counted per address (S27).
    with counting_failures(None, context, endpoint=REGISTRATION):
        usable = InitialAccessToken.objects.filter(
            token_digest=token_digest, expires_at__gt=timezone.now(), uses__lt=F("max_uses")
        ).exists()
        if not usable:
            audit.record(audit.REGISTRATION_REFUSED, context=context, reason="invalid_initial_access_token")
            raise InvalidToken("The initial access token is invalid, expired or used up.",
                               headers=http.bearer_challenge())
    return token_digest


def _consume_initial_access_token(token_digest: str, context: http.RequestContext) -> int:
    """Count one use, conditionally, so concurrent registrations never exceed ``max_uses``."""
    live = InitialAccessToken.objects.filter(
        token_digest=token_digest, expires_at__gt=timezone.now(), uses__lt=F("max_uses")
    )
    if live.update(uses=F("uses") + 1) != 1:
        raise InvalidToken("The initial access token is invalid, expired or used up.", headers=http.bearer_challenge())
    return InitialAccessToken.objects.values_list("pk", flat=True).get(token_digest=token_digest)


def _information(application: Application, registration_token: str, secret: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": application.client_id,
        "client_id_issued_at": int(application.created_at.timestamp()),
    }
    if secret is not None:
        body["client_secret"] = secret
    if application.has_secret:
        body["client_secret_expires_at"] = 0  # never expires (RFC 7591 §3.2.1)
    body["registration_access_token"] = registration_token
    body["registration_client_uri"] = registration_client_uri(application.client_id)
    body.update(client_metadata_body(application))
    return body


# --- RFC 7592: client configuration ----------------------------------------------------------------


def authenticate_registration(client_id: str, authorization: str, context: http.RequestContext) -> tuple[
        Application, str]:
    """The client whose registration access token the request carries, and that token; else 401.

    An unknown client, a wrong token and a token of another client all look the same (RFC 7592 §2).
    """
    # A malformed token is not refused as such: it matches no digest, the same 401 as a wrong one.
    token = http.bearer_credentials(authorization)
    if not token:
        raise InvalidToken("The registration access token is required.", headers=http.bearer_challenge(None))
    # Counted against the client_id in the URL and the address, before the check (docs/SECURITY.md S27).
    with counting_failures(client_id, context, endpoint=REGISTRATION):
        application = Application.objects.filter(client_id=client_id, is_active=True).first()
        if application is None or not crypto.matches_digest(token, application.registration_access_token_digest):
            audit.record(audit.CLIENT_AUTH_FAILED, context=context, application=application,
                         client_id=client_id[:100], reason="wrong_registration_access_token",
                         method="registration_access_token")
            raise InvalidToken("The registration access token is invalid.", headers=http.bearer_challenge())
        expires_at = application.registration_access_token_expires_at
        if expires_at is not None and expires_at <= timezone.now():
            audit.record(audit.CLIENT_AUTH_FAILED, context=context, application=application,
                         reason="expired_registration_access_token", method="registration_access_token")
            raise InvalidToken("The registration access token is invalid.", headers=http.bearer_challenge())
    return application, token


def read_client(client_id: str, *, authorization: str = "",
                context: http.RequestContext = http.NO_CONTEXT) -> ClientInformation:
    """RFC 7592 §2.1. The secret is not shown again (only its digest is kept)."""
    application, token = authenticate_registration(client_id, authorization, context)
    audit.record(audit.CLIENT_CONFIGURATION_READ, context=context, application=application)
    return ClientInformation(_information(application, token, None))


def update_client(client_id: str, body: Any, *, authorization: str = "",
                  context: http.RequestContext = http.NO_CONTEXT) -> ClientInformation:
    """RFC 7592 §2.2: replace the metadata; a new registration access token replaces the old one."""
    application, _ = authenticate_registration(client_id, authorization, context)
    if not isinstance(body, dict):
        raise InvalidClientMetadata("The request body must be a JSON object of client metadata.")
    if body.get("client_id") != application.client_id:
        raise InvalidClientMetadata("client_id must be present and equal to the client's client_id.")
    if "client_secret" in body and not (
        isinstance(body["client_secret"], str) and application.check_secret(body["client_secret"])
    ):
        raise InvalidClientMetadata("client_secret does not match the client's current secret.")
    current_method = client_metadata_body(application)["token_endpoint_auth_method"]
    requested = {k: v for k, v in body.items() if k not in SERVER_MEMBERS}
    # Left out, the method stays what it is (not RFC 7591's default, which would be a change).
    requested.setdefault("token_endpoint_auth_method", current_method)
    metadata = validate_client_metadata(requested)
    if metadata.token_endpoint_auth_method != current_method or metadata.client_type != application.client_type:
        raise InvalidClientMetadata(
            "token_endpoint_auth_method (and so the client type) cannot change through client configuration; "
            "register a new client instead."
        )
    before = trust_basis(application)
    apply_client_metadata(application, metadata)
    changed = trust_basis(application) != before
    secret = None
    if not application.is_confidential or application.uses_private_key_jwt:
        application.client_secret_digest = ""
    elif not application.has_secret:
        secret = application.generate_secret()
    trust_dropped = changed and application.skip_consent
    if changed:
        application.skip_consent = False
    registration_token = _new_registration_token(application)
    with transaction.atomic():
        application.save()
        consents_dropped = forget_consents(application) if changed else 0
        audit.record(audit.CLIENT_UPDATED, context=context, application=application, source="registration",
                     secret_generated=secret is not None, consents_dropped=consents_dropped,
                     skip_consent_dropped=trust_dropped)
    return ClientInformation(_information(application, registration_token, secret))


def delete_client(client_id: str, *, authorization: str = "",
                  context: http.RequestContext = http.NO_CONTEXT) -> None:
    """RFC 7592 §2.3: revoke everything issued to the client, then delete it."""
    application, _ = authenticate_registration(client_id, authorization, context)
    lifecycle.delete_client(application, context=context, source="registration")
