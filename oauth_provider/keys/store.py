"""Signing keys: create, encrypt at rest, and the one per-process cache of the SigningKey table.

Keys live in the database so every process of a deployment signs and publishes the same ones.
Each process keeps ONE snapshot of the table (``key_cache``): the active key of each algorithm,
decrypted once, for issuing; the JWK Set document; and the parsed public keys by ``kid`` that
``jose.verify`` checks signatures with, on the server side (introspection, revocation) and on the
resource side alike. Readers say how old a snapshot they accept; an unknown ``kid`` reloads it at
most once per ``min_refetch_seconds`` (docs/SECURITY.md S17). ``clear_cache()`` is the one way to
drop it: the receivers in ``oauth_provider.receivers`` call it when a key or the settings change
in this process; other processes see a change on their next reload.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from oauth_provider import audit
from oauth_provider.conf import SUPPORTED_SIGNING_ALGORITHMS, oauth_settings
from oauth_provider.jose import parse_jwk_set
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


def generate_key_pair(algorithm: str) -> tuple[Any, dict[str, Any]]:
    """A new private key and its public JWK (without kid/alg/use) for ``algorithm``.

    ``create_signing_key`` looks it up in this module on every call, so the test suite can hand out
    pooled key pairs by replacing it (tests/conftest.py: RSA generation costs up to a second).
    """
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
    private_key, jwk = generate_key_pair(algorithm)
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


def _create_active_key(algorithm: str) -> None:
    """Create the first active key of ``algorithm``; safe when processes race."""
    try:
        with transaction.atomic():
            key = create_signing_key(algorithm, state=KeyState.ACTIVE)
    except IntegrityError:
        return  # another process created it first: the partial unique constraint allows one
    audit.record(audit.SIGNING_KEY_CREATED, kid=key.kid, algorithm=algorithm, reason="first need")


# --- the per-process cache ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    """The SigningKey table as one query read it."""

    loaded_at: float
    active: dict[str, SigningKey]  # algorithm -> its active row
    jwks: dict[str, Any]  # the JWK Set document: every published key, newest first
    verification: dict[str, PyJWK]  # kid -> public key


class KeyCache:
    """The one cache of the SigningKey table in this process (the module's ``key_cache``).

    Readers take no lock on the hot path; one lock serialises reloads and decryption so that
    concurrent requests cause one query. ``clock`` (monotonic seconds) measures freshness; tests
    replace it to move time (setting it clears the cache: times of two clocks do not compare).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._clear_listeners: list[Callable[[], None]] = []
        self.clock = clock

    def on_clear(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` on every ``clear()`` (once per listener however often it is added).

        What was derived from the keys lives and dies with them: the resource side's cache of
        verified tokens registers here (``receivers``), so a key change drops it too.
        """
        if listener not in self._clear_listeners:
            self._clear_listeners.append(listener)

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.clear()

    def clear(self) -> None:
        """Forget everything; the next reader reloads. Takes no lock (a receiver may run inside a reload)."""
        self._generation += 1
        self._snapshot: _Snapshot | None = None
        self._last_load: float | None = None
        self._private: dict[str, LoadedKey] = {}
        for listener in self._clear_listeners:
            listener()

    def _load(self) -> _Snapshot:
        """Read the table (one query); call with the lock held."""
        generation = self._generation
        now = self._clock()
        rows = list(SigningKey.objects.order_by("-created_at"))
        jwks = {"keys": [row.public_jwk for row in rows]}
        snapshot = _Snapshot(
            loaded_at=now,
            active={row.algorithm: row for row in rows if row.state == KeyState.ACTIVE},
            jwks=jwks,
            verification=parse_jwk_set(jwks),
        )
        if generation == self._generation:  # a clear() during the query makes this snapshot stale
            self._snapshot, self._last_load = snapshot, now
            active_kids = {row.kid for row in snapshot.active.values()}
            self._private = {kid: key for kid, key in self._private.items() if kid in active_kids}
        return snapshot

    def _fresh(self, max_age: float) -> _Snapshot | None:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - snapshot.loaded_at < max_age:
            return snapshot
        return None

    def signing_key(self, algorithm: str) -> LoadedKey:
        """The active key of ``algorithm``, decrypted once, created on first need."""
        snapshot = self._fresh(oauth_settings.SIGNING_KEY_CACHE_SECONDS)
        if snapshot is not None:
            row = snapshot.active.get(algorithm)
            loaded = self._private.get(row.kid) if row is not None else None
            if loaded is not None:
                return loaded
        with self._lock:
            snapshot = self._fresh(oauth_settings.SIGNING_KEY_CACHE_SECONDS) or self._load()
            if algorithm not in snapshot.active:
                _create_active_key(algorithm)
                snapshot = self._load()
            row = snapshot.active.get(algorithm)
            if row is None:
                raise SigningKeyError(f"no active {algorithm} signing key could be created")
            loaded = self._private.get(row.kid)
            if loaded is None:  # a new key (or the first read): decrypt and parse it once
                loaded = LoadedKey(row.kid, row.algorithm, decrypt_private_key(row.private_key_encrypted))
                if snapshot is self._snapshot:
                    self._private[row.kid] = loaded
            return loaded

    def jwk_set(self) -> dict[str, Any]:
        # The key tokens are signed with is created (and so published) before the first token.
        self.signing_key(oauth_settings.SIGNING_ALGORITHM)
        snapshot = self._snapshot
        if snapshot is None:  # cleared since: read the table again
            with self._lock:
                snapshot = self._load()
        return snapshot.jwks

    def verification_key(self, kid: str, *, max_age: float, min_refetch_seconds: float) -> PyJWK | None:
        """The public key named ``kid``, from a snapshot at most ``max_age`` seconds old, else None.

        An unknown ``kid`` reloads the table only when the last load is ``min_refetch_seconds`` old:
        a burst of forged kids costs at most one query per interval (docs/SECURITY.md S17).
        A snapshot is always kept for at least ``min_refetch_seconds``.
        """
        max_age = max(max_age, min_refetch_seconds)
        snapshot = self._fresh(max_age)
        if snapshot is not None:
            key = snapshot.verification.get(kid)
            if key is not None:
                return key
        with self._lock:
            snapshot = self._fresh(max_age)
            if snapshot is not None:
                key = snapshot.verification.get(kid)
                if key is not None:
                    return key  # another thread reloaded while this one waited
            last = self._last_load
            if snapshot is None or last is None or self._clock() - last >= min_refetch_seconds:
                snapshot = self._load()
            return snapshot.verification.get(kid)


key_cache = KeyCache()


def get_signing_key(algorithm: str | None = None) -> LoadedKey:
    """The active key for the configured (or given) algorithm, parsed once per process."""
    return key_cache.signing_key(algorithm or oauth_settings.SIGNING_ALGORITHM)


def get_jwks() -> dict[str, Any]:
    """The JWK Set document (RFC 7517 §5): every key that may still verify a live token."""
    return key_cache.jwk_set()


def verification_key(kid: str, *, max_age: float, min_refetch_seconds: float) -> PyJWK | None:
    """The public key of one of our signing keys (any state still in the table) by ``kid``, or None."""
    return key_cache.verification_key(kid, max_age=max_age, min_refetch_seconds=min_refetch_seconds)


def clear_cache() -> None:
    """Drop this process's cached keys: the next issue, JWKS or verification reads the table again."""
    key_cache.clear()
