"""JWT client authentication with ``private_key_jwt`` (RFC 7523 §2.2 and §3, OIDC Core §9).

The client signs a short-lived JWT with a private key whose public half it registered (``jwks`` or
``jwks_uri``) and sends it as ``client_assertion``. The rules, each refused as ``invalid_client``:

- ``client_assertion_type`` is exactly ``urn:ietf:params:oauth:client-assertion-type:jwt-bearer``;
- the JWS ``alg`` is in CLIENT_ASSERTION_ALGORITHMS (asymmetric only: never ``none``, never a MAC,
  RFC 8725 §3.1) and equals the client's ``token_endpoint_auth_signing_alg`` when it registered one;
- the signature verifies with a key the client registered, of the type and curve ``alg`` needs;
- ``iss`` and ``sub`` are both the client_id (§3 items 1, 2);
- ``aud`` names this server: its issuer, its token endpoint URL or the URL of the endpoint called
  (§3 item 3; RFC 9126 §2 lists exactly these for the PAR endpoint);
- ``exp`` is present, not past and at most CLIENT_ASSERTION_MAX_LIFETIME ahead (§3 item 4), ``nbf``
  and ``iat`` (when present) not in the future, with CLIENT_ASSERTION_LEEWAY;
- ``jti`` is present and used once (§3 item 7): recorded in the ``ClientAssertionJti`` table under a
  unique constraint until the assertion expires, so no two processes accept the same one.

``client_secret_jwt`` is not implemented: it needs the client secret itself as the HMAC key, and this
server keeps only a digest of client secrets (docs/SECURITY.md S4). Keeping the secrets would weaken
every client to serve that method; private_key_jwt gives the same protection without a shared secret.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwt.exceptions import PyJWTError

from oauth_provider import crypto
from oauth_provider.clients.keys import client_verification_key
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import RejectedClientAssertion, TemporarilyUnavailable
from oauth_provider.jwk_sets import allowed_assertion_algorithms
from oauth_provider.models import Application, ClientAssertionJti

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PRIVATE_KEY_JWT = "private_key_jwt"
MAX_ASSERTION_LENGTH = 8192


def assertion_subject(assertion: str) -> str | None:
    """The ``sub`` an assertion claims, unverified: which client it says it is (RFC 7523 §3 item 2).

    Only used to find the client whose keys then verify it; None when the JWT is unreadable.
    """
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None


def verify_client_assertion(application: Application, assertion: str, *, audiences: list[str]) -> dict[str, Any]:
    """Check ``assertion`` for ``application`` (the rules in the module docstring) and spend its jti.

    Returns the verified claims; raises ``RejectedClientAssertion`` with the reason for the audit trail.
    """
    if len(assertion) > MAX_ASSERTION_LENGTH:
        raise RejectedClientAssertion("assertion_too_long")
    try:
        header = jwt.get_unverified_header(assertion)
    except PyJWTError as exc:
        raise RejectedClientAssertion("malformed_assertion") from exc
    alg = header.get("alg")
    pinned = application.token_endpoint_auth_signing_alg
    if not isinstance(alg, str) or alg not in allowed_assertion_algorithms() or (pinned and alg != pinned):
        raise RejectedClientAssertion("assertion_algorithm_refused")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise RejectedClientAssertion("malformed_assertion")
    try:
        key = client_verification_key(application, kid, alg)
    except TemporarilyUnavailable as exc:
        # The client's jwks_uri is down: the client cannot be authenticated, which is its problem.
        raise RejectedClientAssertion("client_keys_unavailable") from exc
    if key is None:
        raise RejectedClientAssertion("unknown_key")
    claims = _decode(assertion, key, alg, application.client_id, audiences)
    _check_lifetime(claims)
    _spend_jti(application, claims)
    return claims


def _decode(assertion: str, key: Any, alg: str, client_id: str, audiences: list[str]) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            assertion,
            key,
            algorithms=[alg],
            audience=audiences,
            issuer=client_id,
            leeway=oauth_settings.CLIENT_ASSERTION_LEEWAY,
            options={"require": ["iss", "sub", "aud", "exp", "jti"], "verify_iat": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise RejectedClientAssertion("expired_assertion") from exc
    except jwt.InvalidAudienceError as exc:
        raise RejectedClientAssertion("wrong_audience") from exc
    except jwt.InvalidIssuerError as exc:
        raise RejectedClientAssertion("wrong_issuer") from exc
    except jwt.InvalidSignatureError as exc:
        raise RejectedClientAssertion("bad_signature") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise RejectedClientAssertion(f"missing_{exc.claim}") from exc
    except PyJWTError as exc:
        raise RejectedClientAssertion("invalid_assertion") from exc
    if claims.get("sub") != client_id:
        raise RejectedClientAssertion("wrong_subject")
    if not isinstance(claims.get("jti"), str) or not claims["jti"] or len(claims["jti"]) > 255:
        raise RejectedClientAssertion("missing_jti")
    return claims


def _check_lifetime(claims: dict[str, Any]) -> None:
    """RFC 7523 §3 item 4 lets the server limit how far ahead ``exp`` may be; a short bound keeps the
    jti table small and a stolen assertion nearly useless."""
    exp = claims["exp"]
    longest = oauth_settings.CLIENT_ASSERTION_MAX_LIFETIME + oauth_settings.CLIENT_ASSERTION_LEEWAY
    limit = timezone.now().timestamp() + longest
    if not isinstance(exp, int | float) or exp > limit:
        raise RejectedClientAssertion("assertion_lifetime_too_long")


def _spend_jti(application: Application, claims: dict[str, Any]) -> None:
    """Record the jti; a second insert of the same (client, jti) fails on the unique constraint,
    in whichever process it happens (PostgreSQL makes the second wait for the first, then refuses it)."""
    expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
    expires_at += timedelta(seconds=oauth_settings.CLIENT_ASSERTION_LEEWAY)
    try:
        with transaction.atomic():
            ClientAssertionJti.objects.create(
                application=application, jti_digest=crypto.digest(claims["jti"]), expires_at=expires_at
            )
    except IntegrityError as exc:
        raise RejectedClientAssertion("replayed_jti") from exc
