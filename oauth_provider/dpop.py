"""DPoP (RFC 9449): proofs of possession of a key, bound to the HTTP request they come with; the same
rules at the token endpoint and at APIs.

A DPoP proof is a JWT a client signs with its own private key for one HTTP request. ``verify_proof``
checks it as RFC 9449 §4.3 lists, in this order (every failure is ``InvalidDPoPProof`` with the reason):

1. exactly one ``DPoP`` header (``single_proof``);
2.-5. the JWT itself, in ``jose.verify_dpop_proof`` (the JOSE profile ``DPOP_PROOF``): a compact JWS,
   ``typ`` ``dpop+jwt``, ``alg`` in ``DPOP_SIGNING_ALGORITHMS`` (never ``none`` or an HMAC), a public
   ``jwk`` of the type the algorithm needs (any private member such as ``d``, ``p``, ``q``, ``dp``,
   ``dq``, ``qi``, ``oth``, ``k`` is refused), the signature verified by PyJWT with that embedded key;
6. ``jti``, ``htm``, ``htu`` and ``iat`` are present; ``htm`` equals the request method and ``htu``
   the request URI without query and fragment, both URIs normalised (RFC 3986 §6.2.2, §6.2.3);
7. ``iat`` is no older than ``DPOP_PROOF_MAX_AGE`` and no further ahead than ``DPOP_CLOCK_SKEW``;
8. with an access token (resource side): ``ath`` is BASE64URL(SHA-256(token)) (§4.2, §7);
9. when the caller requires a nonce (§8, §9): ``nonce`` is one this server issued recently, else
   ``UseDPoPNonce`` carrying a fresh one in ``DPoP-Nonce``;
10. last, only for an otherwise valid proof: its ``jti`` was never seen within the window (§11.1).

The key's identity is its RFC 7638 JWK SHA-256 thumbprint (``jose.jwk_thumbprint``): the ``jkt`` that
binds access tokens (``cnf.jkt``, §6.1), refresh tokens (§5) and codes (``dpop_jkt``, §10).

Replay cache. Seen ``jti`` values are kept in the Django cache named by ``DPOP_REPLAY_CACHE``, with
``cache.add`` (an atomic SET NX in Redis, so two processes never both accept one proof), for as long
as a proof can be accepted (max age plus skew). The key is a digest of (thumbprint, jti): a client
cannot burn another client's jtis. Use a cache of its own, never evicting before expiry (Redis with
``maxmemory-policy noeviction`` or ``volatile-ttl`` on a dedicated database), not the one that holds
the rate-limit counters: whoever can fill an LRU cache with counters could evict seen jtis and replay
a captured proof. A cache error fails closed (the request errors, the check is never skipped); the
deploy check W020 warns about a dummy cache, which would remember nothing.

Nonces (§8, §9) need no database and no per-request write: a nonce is an HMAC, under a server
secret, of the current time window (``DPOP_NONCE_LIFETIME`` seconds). Every process computes the
same value, the nonce of the current and of the previous window are accepted, and responses carry
the current one in ``DPoP-Nonce``, so nonces rotate by themselves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.cache import caches
from django.utils.crypto import salted_hmac

from oauth_provider import jose
from oauth_provider.conf import oauth_settings
from oauth_provider.crypto import constant_time_equals
from oauth_provider.errors import InvalidDPoPProof, UseDPoPNonce
from oauth_provider.jose import DPOP_ALGORITHM_KEYS, DPoPProof, access_token_hash, jwk_thumbprint

__all__ = ["DPoPProof", "access_token_hash", "jwk_thumbprint", "single_proof", "verify_proof"]

TOKEN_TYPE = "DPoP"  # RFC 9449 §5: token_type of bound access tokens; also the Authorization scheme
NONCE_HEADER = "DPoP-Nonce"
SUPPORTED_ALGORITHMS = tuple(DPOP_ALGORITHM_KEYS)

_DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 §2.3: percent-encoded unreserved characters are decoded by normalisation.
_UNRESERVED = "-._~"
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")

REPLAY_KEY_PREFIX = "oauth_provider:dpop:jti:"

# An RFC 7638 SHA-256 thumbprint: 32 bytes in unpadded base64url (the dpop_jkt parameter, RFC 9449 §10).
_JKT = re.compile(r"[A-Za-z0-9_-]{43}")


def is_jkt(value: str) -> bool:
    return _JKT.fullmatch(value or "") is not None


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


# --- htu and htm (RFC 9449 §4.3 items 8 and 9) ---------------------------------------------------


def _normalise_percent(part: str) -> str:
    """Upper-case percent escapes; decode those of unreserved characters (RFC 3986 §6.2.2.1-2)."""

    def fix(match: re.Match) -> str:
        char = chr(int(match.group(0)[1:], 16))
        if char.isascii() and (char.isalnum() or char in _UNRESERVED):
            return char
        return match.group(0).upper()

    return _PERCENT.sub(fix, part)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 for an absolute path."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
            continue
        if segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
            continue
        output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def normalise_htu(uri: str) -> str:
    """The URI as compared for ``htu``: no query or fragment, scheme and host in lower case, default
    port dropped, empty path as ``/``, percent escapes and dot segments normalised (RFC 3986 §6.2.2-3).

    ValueError when it is not an absolute http(s) URI.
    """
    if not isinstance(uri, str) or len(uri) > 4096:
        raise ValueError("not a URI")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password:
        raise ValueError("not an absolute http(s) URI")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port  # ValueError for a non-numeric or out-of-range port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _remove_dot_segments(_normalise_percent(parts.path or "/"))
    return urlunsplit((scheme, netloc, path, "", ""))


def request_uri(request: Any) -> str:
    """The URI a request's proof must name: ``build_absolute_uri`` of its path (no query).

    The host is the one ``ALLOWED_HOSTS`` let through; behind a TLS-terminating proxy set
    ``SECURE_PROXY_SSL_HEADER`` (and ``USE_X_FORWARDED_HOST`` if needed) as for any absolute URL Django builds.
    """
    return request.build_absolute_uri(request.path)


# --- nonces (RFC 9449 §8, §9) ---------------------------------------------------------------------


def _nonce_for(window: int) -> str:
    secret = oauth_settings.DPOP_NONCE_SECRET
    if secret:
        mac = hmac.new(secret.encode("utf-8"), f"dpop-nonce:{window}".encode("ascii"), hashlib.sha256).digest()
    else:
        mac = salted_hmac("oauth_provider.dpop.nonce", str(window), algorithm="sha256").digest()
    return _b64url(mac)


def _window(now: float) -> int:
    return int(now // oauth_settings.DPOP_NONCE_LIFETIME)


def current_nonce(now: float | None = None) -> str:
    """The nonce every process hands out now (the ``DPoP-Nonce`` response header)."""
    return _nonce_for(_window(time.time() if now is None else now))


def nonce_is_valid(nonce: Any, now: float | None = None) -> bool:
    """Whether ``nonce`` is the current or the previous window's nonce (constant-time comparisons)."""
    if not isinstance(nonce, str) or not nonce or len(nonce) > 128:
        return False
    window = _window(time.time() if now is None else now)
    results = [constant_time_equals(nonce, _nonce_for(w)) for w in (window, window - 1)]
    return any(results)


def nonce_headers() -> dict[str, str]:
    return {NONCE_HEADER: current_nonce()}


# --- replay (RFC 9449 §11.1) ----------------------------------------------------------------------


def replay_window() -> int:
    """Seconds a proof stays acceptable, so seen jtis are kept that long."""
    return int(oauth_settings.DPOP_PROOF_MAX_AGE + oauth_settings.DPOP_CLOCK_SKEW) + 1


def record_jti(jkt: str, jti: str) -> bool:
    """Remember a proof's jti; False when it was already seen (by any process sharing the cache)."""
    key = REPLAY_KEY_PREFIX + hashlib.sha256(f"{jkt}:{jti}".encode()).hexdigest()
    return bool(caches[oauth_settings.DPOP_REPLAY_CACHE].add(key, 1, timeout=replay_window()))


# --- the proof --------------------------------------------------------------------------------------


def single_proof(header_value: str | None) -> str | None:
    """The one DPoP proof of a request (Django's ``META['HTTP_DPOP']``), None when absent.

    Repeated headers reach Django joined with commas, which no compact JWS contains (§4.3 item 1).
    """
    if header_value is None:
        return None
    value = header_value.strip()
    if not value:
        raise InvalidDPoPProof("The DPoP header is empty.")
    if "," in value:
        raise InvalidDPoPProof("The request carries more than one DPoP proof.")
    return value


def verify_proof(
    proof: str | None,
    *,
    method: str,
    uri: str,
    access_token: str | None = None,
    require_nonce: bool = False,
    now: float | None = None,
) -> DPoPProof:
    """Verify the DPoP proof of one request (RFC 9449 §4.3) and record its jti.

    ``uri`` is the request's absolute URI (query and fragment ignored). ``access_token``: the token
    sent with the proof to a resource server, whose hash ``ath`` must be. Raises ``InvalidDPoPProof``
    or, when ``require_nonce`` and the nonce is missing or stale, ``UseDPoPNonce`` (with a new nonce).
    """
    if proof is None:
        raise InvalidDPoPProof("A DPoP proof is required.")
    verified = jose.verify_dpop_proof(proof, algorithms=oauth_settings.DPOP_SIGNING_ALGORITHMS)
    claims = verified.claims
    if claims["htm"] != method:
        raise InvalidDPoPProof("The DPoP proof's htm does not match the request method.")
    try:
        htu_matches = constant_time_equals(normalise_htu(claims["htu"]), normalise_htu(uri))
    except ValueError:
        htu_matches = False
    if not htu_matches:
        raise InvalidDPoPProof("The DPoP proof's htu does not match the request URI.")
    _check_iat(claims["iat"], time.time() if now is None else now)
    if access_token is not None:
        ath = claims.get("ath")
        if ath is None:
            raise InvalidDPoPProof("The DPoP proof lacks the ath claim.")
        if not isinstance(ath, str) or not constant_time_equals(ath, access_token_hash(access_token)):
            raise InvalidDPoPProof("The DPoP proof's ath does not match the access token.")
    if require_nonce:
        nonce = claims.get("nonce")
        if not nonce_is_valid(nonce, now):
            description = "A DPoP nonce is required." if nonce is None else "The DPoP nonce is stale or unknown."
            raise UseDPoPNonce(description, headers=nonce_headers())
    if not record_jti(verified.jkt, verified.jti):
        raise InvalidDPoPProof("The DPoP proof was already used (jti).")
    return verified


def _check_iat(iat: float, now: float) -> None:
    if iat < now - oauth_settings.DPOP_PROOF_MAX_AGE:
        raise InvalidDPoPProof("The DPoP proof is too old (iat).")
    if iat > now + oauth_settings.DPOP_CLOCK_SKEW:
        raise InvalidDPoPProof("The DPoP proof is issued in the future (iat).")

