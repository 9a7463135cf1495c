"""Finding the access token of a request (RFC 6750 §2, RFC 9449 §7) and validating it once per request.

Only the ``Authorization`` header is accepted: ``Bearer <token>`` (RFC 6750 §2.1, the method every
resource server must support) or ``DPoP <token>`` with a ``DPoP`` proof header (RFC 9449 §7.1).
A token in the query string is refused (RFC 9700 §4.3.2: URLs leak into logs and Referer headers),
and so is one in a form body: with the header too it is a token in two places (§2: "MUST NOT use
more than one method"), alone it is a method this server does not offer.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from oauth_provider import dpop, http
from oauth_provider.conf import oauth_settings
from oauth_provider.crypto import constant_time_equals
from oauth_provider.errors import InvalidDPoPProof, InvalidToken, OAuthError, UseDPoPNonce
from oauth_provider.resource.validator import AccessTokenInfo, get_validator

BEARER = "Bearer"
DPOP = dpop.TOKEN_TYPE

def bound_jkt(info: AccessTokenInfo) -> str | None:
    """The ``cnf.jkt`` a DPoP-bound access token names (RFC 9449 §6.1), else None."""
    cnf = info.claims.get("cnf")
    if cnf is None:
        return None
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if not isinstance(jkt, str) or not jkt:
        raise InvalidToken("The access token's cnf claim is invalid.")
    return jkt


def _dpop_error(error: OAuthError) -> OAuthError:
    """A proof error as a resource server answers it: 401 with a DPoP challenge (RFC 9449 §7.1, §9)."""
    error.status_code = 401
    error.scheme = DPOP
    return error


def validate_request_token(request: HttpRequest, scheme: str, token: str) -> AccessTokenInfo:
    """Validate the token for its scheme: a DPoP-bound token only with ``DPoP`` and a proof of its key."""
    info = get_validator().validate(token)
    jkt = bound_jkt(info)
    if scheme == BEARER:
        if jkt is not None:
            # RFC 9449 §7.1: a bound token must not be accepted as a bearer token (no downgrade).
            raise InvalidToken("The access token is bound to a DPoP key; use the DPoP authorization scheme.")
        return info
    if jkt is None:
        # Nothing binds it, so a proof would prove nothing: refuse rather than pretend (RFC 9449 §7.1).
        error = InvalidToken("The access token is not DPoP-bound; use the Bearer authorization scheme.")
        error.scheme = DPOP
        raise error
    try:
        proof = dpop.verify_proof(
            dpop.single_proof(request.META.get("HTTP_DPOP")),
            method=request.method,
            uri=dpop.request_uri(request),
            access_token=token,
            require_nonce=oauth_settings.RESOURCE_DPOP_NONCE_REQUIRED,
        )
    except (InvalidDPoPProof, UseDPoPNonce) as exc:
        raise _dpop_error(exc) from None
    if not constant_time_equals(proof.jkt, jkt):
        raise _dpop_error(InvalidDPoPProof("The DPoP proof is not signed with the key the access token is bound to."))
    request.oauth_dpop = proof
    return info


def _django_request(request: Any) -> HttpRequest:
    """The HttpRequest behind a DRF Request (or the request itself)."""
    return getattr(request, "_request", request)


def resolve(request: Any) -> tuple[AccessTokenInfo | None, OAuthError | None]:
    """The request's verified token or the error it causes, computed once per request.

    The answer is kept on the HttpRequest as ``oauth`` / ``oauth_error`` (what the middleware sets),
    so the middleware, DRF authentication, permissions and decorators validate a token once. Also kept:
    ``oauth_scheme`` (``"Bearer"``, ``"DPoP"`` or None) and ``oauth_dpop`` (the verified ``DPoPProof``
    of a DPoP request, else None). Errors of a DPoP request carry ``scheme = "DPoP"`` for the challenge.
    """
    django_request = _django_request(request)
    if hasattr(django_request, "oauth_error") and hasattr(django_request, "oauth"):
        return django_request.oauth, django_request.oauth_error
    info: AccessTokenInfo | None = None
    error: OAuthError | None = None
    django_request.oauth_scheme = None
    django_request.oauth_dpop = None
    try:
        found = http.request_access_token(django_request)
        if found is not None:
            django_request.oauth_scheme = found[0]
            info = validate_request_token(django_request, *found)
    except OAuthError as exc:
        if django_request.oauth_scheme == DPOP and getattr(exc, "scheme", None) is None:
            exc.scheme = DPOP
        error = exc
    django_request.oauth = info
    django_request.oauth_error = error
    return info, error
