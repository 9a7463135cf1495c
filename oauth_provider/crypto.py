"""Random secrets, their digests, constant-time comparison and PKCE (RFC 7636).

Every secret the server hands out (client secrets, codes, refresh tokens, device codes) is
generated here with 256 bits from ``secrets`` and stored only as its SHA-256 digest. A fast digest
is safe because the input is high-entropy; it keeps client authentication cheap.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

SECRET_BYTES = 32  # 256 bits
DIGEST_PATTERN = re.compile(r"[0-9a-f]{64}")


def generate_secret(nbytes: int = SECRET_BYTES) -> str:
    """A URL-safe random string carrying ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def generate_identifier(nbytes: int = 18) -> str:
    """A public, unguessable identifier (client ids, jti); not a secret."""
    return secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    """Hex SHA-256 of a secret, the only form in which secrets are stored."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def is_digest(value: str) -> bool:
    return DIGEST_PATTERN.fullmatch(value or "") is not None


def matches_digest(value: str, stored_digest: str) -> bool:
    """Constant-time check of a presented secret against a stored digest."""
    if not stored_digest:
        return False
    return constant_time_equals(digest(value), stored_digest)


def pkce_s256(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))) without padding (RFC 7636 §4.2)."""
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


# RFC 7636 §4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". Always applied
# with fullmatch (``is_pkce_value``): "$" would let a final newline through (docs/SECURITY.md S30).
PKCE_VALUE_PATTERN = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def is_pkce_value(value: str) -> bool:
    """Whether ``value`` is a well-formed code verifier or code challenge (RFC 7636 §4.1, §4.2)."""
    return PKCE_VALUE_PATTERN.fullmatch(value or "") is not None


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    """Whether ``verifier`` answers ``challenge`` (RFC 7636 §4.6), in constant time."""
    if not is_pkce_value(verifier):
        return False
    if method == "S256":
        expected = pkce_s256(verifier)
    elif method == "plain":
        expected = verifier
    else:
        return False
    return constant_time_equals(expected, challenge)


def constant_time_equals(a: str, b: str) -> bool:
    """The one constant-time string comparison (``hmac.compare_digest`` over UTF-8 bytes)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
