"""Signing keys: one store (``store``: creation, encryption at rest, the one per-process cache) and rotation.

Public API::

    get_signing_key(algorithm=None) -> LoadedKey     # the active key, for issuing (tokens.issue)
    get_jwks() -> dict                               # the published JWK Set (views.metadata)
    verification_key(kid, *, max_age, min_refetch_seconds) -> PyJWK | None   # for jose.verify
    clear_cache()                                    # the one reset of the cache (receivers, tests)
    create_signing_key(algorithm=None, *, state=KeyState.NEXT) -> SigningKey
    encrypt_private_key / decrypt_private_key / jwk_thumbprint
    stage_next_key / promote_next_key / rotate_signing_key / delete_expired_retired_keys (rotation)

Test seams (documented, public): ``key_cache.clock`` (the monotonic clock freshness is measured with)
and ``store.generate_key_pair`` (looked up on each call, so tests can pool generated key pairs).
"""

from oauth_provider.keys.rotation import (
    Promotion,
    delete_expired_retired_keys,
    expired_retired_keys,
    promote_next_key,
    retired_key_horizon,
    rotate_signing_key,
    stage_next_key,
)
from oauth_provider.keys.store import (
    KeyCache,
    LoadedKey,
    SigningKeyError,
    clear_cache,
    create_signing_key,
    decrypt_private_key,
    encrypt_private_key,
    get_jwks,
    get_signing_key,
    jwk_thumbprint,
    key_cache,
    verification_key,
)

__all__ = [
    "KeyCache",
    "LoadedKey",
    "Promotion",
    "SigningKeyError",
    "clear_cache",
    "create_signing_key",
    "decrypt_private_key",
    "delete_expired_retired_keys",
    "encrypt_private_key",
    "expired_retired_keys",
    "get_jwks",
    "get_signing_key",
    "jwk_thumbprint",
    "key_cache",
    "promote_next_key",
    "retired_key_horizon",
    "rotate_signing_key",
    "stage_next_key",
    "verification_key",
]
