"""Rules for the public keys a client registers for ``private_key_jwt`` (RFC 7523 §2.2, RFC 7591 §2):
the JWK Set itself, its ``jwks_uri``, and which JWS algorithms may sign a client assertion.

Pure checks (no database, no network), shared by the model, the admin and dynamic registration.
Fetching a ``jwks_uri`` is ``clients/keys.py``; verifying an assertion is ``clients/assertion.py``.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.exceptions import ImproperlyConfigured
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from oauth_provider.conf import oauth_settings
from oauth_provider.http import is_local_fetch_host

# Every asymmetric JWS algorithm PyJWT verifies -> (kty, crv or None). Never "none", never HS*:
# a MAC proves nothing when the verifier holds no secret (RFC 8725 §3.1, §2.1).
ASYMMETRIC_ALGORITHMS: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None),
}
# Members that only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
MAX_KEYS = 10
MAX_JWKS_CHARS = 64 * 1024
MAX_URI_LENGTH = 2000


def allowed_assertion_algorithms() -> list[str]:
    """CLIENT_ASSERTION_ALGORITHMS, refusing at once a configuration that names a non-asymmetric one."""
    configured = list(oauth_settings.CLIENT_ASSERTION_ALGORITHMS)
    wrong = [alg for alg in configured if alg not in ASYMMETRIC_ALGORITHMS]
    if wrong:
        raise ImproperlyConfigured(
            f"OAUTH_PROVIDER['CLIENT_ASSERTION_ALGORITHMS'] may name only asymmetric JWS algorithms "
            f"({', '.join(ASYMMETRIC_ALGORITHMS)}), not {', '.join(map(str, wrong))}."
        )
    return configured


def jwks_problems(document: Any) -> list[str]:
    """Why ``document`` is not an acceptable client JWK Set; empty when it is.

    Public signature keys only, at most ``MAX_KEYS``, each with a ``kid`` unique in the set, each
    loadable as a key of an asymmetric type.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        return ['A JWK Set is a JSON object with a "keys" array (RFC 7517 §5).']
    if len(json.dumps(document)) > MAX_JWKS_CHARS:
        return [f"A JWK Set may be at most {MAX_JWKS_CHARS} characters."]
    keys = document["keys"]
    if not 1 <= len(keys) <= MAX_KEYS:
        return [f"A JWK Set must hold between 1 and {MAX_KEYS} keys."]
    problems: list[str] = []
    kids: set[str] = set()
    for position, jwk in enumerate(keys, start=1):
        problem = _key_problem(jwk)
        if problem is None:
            if jwk["kid"] in kids:
                problem = f"kid {jwk['kid'][:64]!r} is used twice."
            kids.add(jwk["kid"])
        if problem is not None:
            problems.append(f"Key {position}: {problem}")
    return problems


def _key_problem(jwk: Any) -> str | None:
    if not isinstance(jwk, dict):
        return "not a JSON object."
    if not isinstance(jwk.get("kid"), str) or not jwk["kid"] or len(jwk["kid"]) > 255:
        return "needs a kid (a non-empty string of at most 255 characters)."
    if any(member in jwk for member in PRIVATE_MEMBERS):
        return "is a private or symmetric key; register public keys only."
    if jwk.get("kty") not in {kty for kty, _ in ASYMMETRIC_ALGORITHMS.values()}:
        return "kty must be RSA, EC or OKP."
    if jwk.get("use", "sig") != "sig":
        return 'use must be "sig".'
    if "alg" in jwk and jwk["alg"] not in ASYMMETRIC_ALGORITHMS:
        return "alg must be an asymmetric JWS algorithm."
    try:
        PyJWK(jwk, algorithm=jwk.get("alg"))
    except (PyJWTError, ValueError, TypeError, KeyError):
        return "is not a usable public key."
    return None


def key_for_algorithm(jwk: dict[str, Any], alg: str) -> PyJWK | None:
    """``jwk`` loaded for verifying ``alg``, or None when the key cannot verify that algorithm
    (wrong type or curve, or a different ``alg`` pinned on the key)."""
    if alg not in ASYMMETRIC_ALGORITHMS or jwk.get("alg", alg) != alg or jwk.get("use", "sig") != "sig":
        return None
    if any(member in jwk for member in PRIVATE_MEMBERS):
        return None
    kty, crv = ASYMMETRIC_ALGORITHMS[alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        return None
    try:
        loaded = PyJWK(jwk, algorithm=alg)
    except (PyJWTError, ValueError, TypeError, KeyError):
        return None
    return loaded if key_fits_algorithm(loaded.key, alg) else None


def key_fits_algorithm(key: Any, alg: str) -> bool:
    """Whether a loaded public key object (``PyJWK.key``) is of the type and curve ``alg`` needs."""
    if alg not in ASYMMETRIC_ALGORITHMS:
        return False
    kty, crv = ASYMMETRIC_ALGORITHMS[alg]
    if kty == "RSA":
        return isinstance(key, rsa.RSAPublicKey)
    if kty == "EC":
        return isinstance(key, ec.EllipticCurvePublicKey) and _CURVES.get(key.curve.name) == crv
    return isinstance(key, ed25519.Ed25519PublicKey)


_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def _is_non_public_ip_literal(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False  # a name: where it leads is checked when connecting


def jwks_uri_problem(uri: str) -> str | None:
    """Why ``uri`` is not an acceptable ``jwks_uri``; None when it is.

    Absolute https with a host, no credentials, no fragment; http only on loopback and only when
    CLIENT_JWKS_URI_ALLOW_LOOPBACK is on (tests). Where it may point is checked again when it is
    fetched, against the address actually connected to (``clients/keys.py``).
    """
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_LENGTH or any(ch.isspace() for ch in uri):
        return f"jwks_uri must be an absolute URL of at most {MAX_URI_LENGTH} characters without spaces."
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        return "jwks_uri is malformed."
    if not host:
        return "jwks_uri needs a host."
    if parts.username or parts.password or "@" in parts.netloc:
        return "jwks_uri must not contain credentials."
    if parts.fragment or uri.endswith("#"):
        return "jwks_uri must not contain a fragment."
    loopback_allowed = bool(oauth_settings.CLIENT_JWKS_URI_ALLOW_LOOPBACK)
    if parts.scheme == "https":
        if is_local_fetch_host(host):
            return None if loopback_allowed else "jwks_uri must not point to this machine."
        if _is_non_public_ip_literal(host):
            return "jwks_uri must not point to a private or reserved address."
        return None
    if parts.scheme == "http" and loopback_allowed and is_local_fetch_host(host):
        return None
    return "jwks_uri must be an https URL."
