"""Signing keys: create, encrypt at rest, load once per process, publish as a JWK Set.

Keys live in the database so every process of a deployment signs and publishes the same ones.
Each process keeps the parsed active key and the JWKS document for ``SIGNING_KEY_CACHE_SECONDS``
(no key parsing on the hot path) and drops them at once when a key changes in this process.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from oauth_provider.conf import SUPPORTED_SIGNING_ALGORITHMS, oauth_settings, on_reload
from oauth_provider.models import KeyState, SigningKey

RSA_KEY_SIZE = 2048

# Members of each key type that the RFC 7638 thumbprint covers.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}


class SigningKeyError(Exception):
    """A signing key cannot be used (unknown algorithm, undecryptable private key)."""


@dataclass(frozen=True)
class LoadedKey:
    """An active signing key ready to sign: parsed once per process."""

    kid: str
    algorithm: str
    private_key: Any


# --- encryption at rest ---------------------------------------------------------------------------


def _fernet_key(secret: str) -> bytes:
    """Derive a Fernet key from a configured secret of any length (HKDF-SHA256)."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"oauth_provider", info=b"signing-key-encryption"
    ).derive(secret.encode("utf-8"))
    return base64.urlsafe_b64encode(derived)


def _cipher() -> MultiFernet:
    secrets = list(oauth_settings.KEY_ENCRYPTION_KEYS) or [settings.SECRET_KEY]
    return MultiFernet([Fernet(_fernet_key(secret)) for secret in secrets])


def encrypt_private_key(private_key: Any) -> str:
    pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    return _cipher().encrypt(pem).decode("ascii")


def decrypt_private_key(encrypted: str) -> Any:
    try:
        pem = _cipher().decrypt(encrypted.encode("ascii"))
    except InvalidToken as exc:
        raise SigningKeyError(
            "cannot decrypt a signing key: OAUTH_PROVIDER['KEY_ENCRYPTION_KEYS'] (or SECRET_KEY) changed"
        ) from exc
    return serialization.load_pem_private_key(pem, password=None)


# --- creation -------------------------------------------------------------------------------------


def _generate(algorithm: str) -> tuple[Any, dict[str, Any]]:
    """A new private key and its public JWK (without kid/alg/use) for ``algorithm``."""
    if algorithm == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
        jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    elif algorithm == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    elif algorithm == "EdDSA":
        private_key = ed25519.Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        raise SigningKeyError(f"unsupported signing algorithm {algorithm!r}; use one of {SUPPORTED_SIGNING_ALGORITHMS}")
    return private_key, dict(jwk)


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): a stable, collision-free ``kid``."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode("ascii")


def create_signing_key(algorithm: str | None = None, *, state: str = KeyState.NEXT) -> SigningKey:
    """Generate and store a key pair; the private half is encrypted before it is saved."""
    algorithm = algorithm or oauth_settings.SIGNING_ALGORITHM
    private_key, jwk = _generate(algorithm)
    kid = jwk_thumbprint(jwk)
    jwk.update({"kid": kid, "alg": algorithm, "use": "sig"})
    now = timezone.now()
    return SigningKey.objects.create(
        kid=kid,
        algorithm=algorithm,
        state=state,
        public_jwk=jwk,
        private_key_encrypted=encrypt_private_key(private_key),
        activated_at=now if state == KeyState.ACTIVE else None,
    )


def _active_key_row(algorithm: str) -> SigningKey:
    """The active key for ``algorithm``, created on first need; safe when processes race."""
    key = SigningKey.objects.filter(state=KeyState.ACTIVE, algorithm=algorithm).first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            key = create_signing_key(algorithm, state=KeyState.ACTIVE)
    except IntegrityError:
        # Another process created it first: the partial unique constraint allows one.
        return SigningKey.objects.get(state=KeyState.ACTIVE, algorithm=algorithm)
    from oauth_provider import audit

    audit.record(audit.SIGNING_KEY_CREATED, kid=key.kid, algorithm=algorithm, reason="first need")
    return key


# --- the per-process cache ------------------------------------------------------------------------


class _KeyCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.signing: dict[str, tuple[float, LoadedKey]] = {}
        self.jwks: tuple[float, dict[str, Any]] | None = None

    @staticmethod
    def _fresh(loaded_at: float) -> bool:
        return time.monotonic() - loaded_at < oauth_settings.SIGNING_KEY_CACHE_SECONDS

    def signing_key(self, algorithm: str) -> LoadedKey:
        entry = self.signing.get(algorithm)
        if entry is not None and self._fresh(entry[0]):
            return entry[1]
        with self._lock:
            row = _active_key_row(algorithm)
            cached = self.signing.get(algorithm)
            if cached is not None and cached[1].kid == row.kid:
                loaded = cached[1]  # same key as before: no need to decrypt and parse again
            else:
                loaded = LoadedKey(row.kid, row.algorithm, decrypt_private_key(row.private_key_encrypted))
            self.signing[algorithm] = (time.monotonic(), loaded)
            return loaded

    def jwk_set(self) -> dict[str, Any]:
        entry = self.jwks
        if entry is not None and self._fresh(entry[0]):
            return entry[1]
        # Make sure the key tokens are signed with is published even before the first token.
        self.signing_key(oauth_settings.SIGNING_ALGORITHM)
        keys = [row.public_jwk for row in SigningKey.objects.order_by("-created_at").only("public_jwk")]
        document = {"keys": keys}
        self.jwks = (time.monotonic(), document)
        return document


_cache = _KeyCache()


def get_signing_key(algorithm: str | None = None) -> LoadedKey:
    """The active key for the configured (or given) algorithm, parsed once per process."""
    return _cache.signing_key(algorithm or oauth_settings.SIGNING_ALGORITHM)


def get_jwks() -> dict[str, Any]:
    """The JWK Set document (RFC 7517 §5): every key that may still verify a live token."""
    return _cache.jwk_set()


@on_reload
def clear_key_cache(*args: Any, **kwargs: Any) -> None:
    _cache.clear()


post_save.connect(clear_key_cache, sender=SigningKey, dispatch_uid="oauth_provider.keys.store.saved")
post_delete.connect(clear_key_cache, sender=SigningKey, dispatch_uid="oauth_provider.keys.store.deleted")
