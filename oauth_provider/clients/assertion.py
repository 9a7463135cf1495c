"""JWT client authentication with ``private_key_jwt`` (RFC 7523 §2.2 and §3, OIDC Core §9).

The JWT is checked by ``jose.verify`` with the ``CLIENT_ASSERTION`` profile; this module adds the keys
(the client's), the audiences, the lifetime bound and the single use of ``jti``.

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

from oauth_provider import crypto, jose
from oauth_provider.clients.keys import client_verification_key
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidToken, RejectedClientAssertion, TemporarilyUnavailable
from oauth_provider.jwk_sets import allowed_assertion_algorithms
from oauth_provider.models import Application, ClientAssertionJti

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PRIVATE_KEY_JWT = "private_key_jwt"
MAX_ASSERTION_LENGTH = jose.MAX_TOKEN_LENGTH


def assertion_subject(assertion: str) -> str | None:
    """The ``sub`` an assertion claims, unverified: which client it says it is (RFC 7523 §3 item 2).

    Only used to find the client whose keys then verify it; None when the JWT is unreadable.
    """
    try:
        claims = jwt.decode(assertion[:MAX_ASSERTION_LENGTH], options={"verify_signature": False})
    except PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None


def verify_client_assertion(application: Application, assertion: str, *, audiences: list[str]) -> dict[str, Any]:
    """Check ``assertion`` for ``application`` (the rules in the module docstring) and spend its jti.

    Returns the verified claims; raises ``RejectedClientAssertion`` with the reason for the audit trail.
    """
    try:
        header = jose.unverified_header(assertion)
    except InvalidToken as exc:
        raise RejectedClientAssertion("malformed_assertion") from exc
    pinned = application.token_endpoint_auth_signing_alg
    algorithms = [pinned] if pinned else allowed_assertion_algorithms()
    alg = header.get("alg")

    def key_for(kid: str | None):
        try:
            return client_verification_key(application, kid, alg) if isinstance(alg, str) else None
        except TemporarilyUnavailable as exc:
            # The client's jwks_uri is down: the client cannot be authenticated (its problem, not ours).
            raise RejectedClientAssertion("client_keys_unavailable") from exc

    try:
        claims = jose.verify(
            assertion,
            key_for=key_for,
            issuer=application.client_id,  # §3 item 1
            audience=audiences,
            algorithms=algorithms,
            leeway=oauth_settings.CLIENT_ASSERTION_LEEWAY,
            profile=jose.CLIENT_ASSERTION,
        )
    except InvalidToken as exc:
        raise RejectedClientAssertion(exc.description) from exc
    if claims["sub"] != application.client_id:  # §3 item 2
        raise RejectedClientAssertion("The client assertion's sub is not the client_id.")
    if len(claims["jti"]) > 255:
        raise RejectedClientAssertion("The client assertion's jti is too long.")
    _check_lifetime(claims)
    _spend_jti(application, claims)
    return claims


def _check_lifetime(claims: dict[str, Any]) -> None:
    """RFC 7523 §3 item 4 lets the server limit how far ahead ``exp`` may be; a short bound keeps the
    jti table small and a stolen assertion nearly useless."""
    exp = claims["exp"]
    longest = oauth_settings.CLIENT_ASSERTION_MAX_LIFETIME + oauth_settings.CLIENT_ASSERTION_LEEWAY
    if not isinstance(exp, int | float) or exp > timezone.now().timestamp() + longest:
        raise RejectedClientAssertion("The client assertion lives longer than the server accepts (exp).")


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
