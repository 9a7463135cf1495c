"""The public keys of a ``private_key_jwt`` client (RFC 7523 §2.2): inline ``jwks`` or a ``jwks_uri``.

A ``jwks_uri`` is fetched by ``keys/remote.py``'s ``RemoteKeySet``, the same discipline as the resource
side's remote JWK Set: no redirect is followed, the body is read up to a size limit,
the request times out, the keys are kept as Cache-Control allows, and a ``kid`` the set does not
hold causes at most one fetch per CLIENT_JWKS_MIN_REFETCH_SECONDS (no storm from forged ``kid``s).
A registered URL is untrusted input, so on top of that: https only, no proxy from the environment,
and the address actually connected to (after DNS, so rebinding does not help) must be a public one;
loopback only when CLIENT_JWKS_URI_ALLOW_LOOPBACK is on (tests).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from jwt import PyJWK

from oauth_provider.conf import oauth_settings
from oauth_provider.jwk_sets import jwks_uri_problem, key_for_algorithm
from oauth_provider.keys.remote import RemoteKeySet, public_opener
from oauth_provider.models import Application

# Per-process cache of remote key sets; the least recently used goes first beyond this many clients.
MAX_CACHED_CLIENTS = 1000
# Keys kept of one remote set.
MAX_REMOTE_KEYS = 20


_client_opener = public_opener(lambda: bool(oauth_settings.CLIENT_JWKS_URI_ALLOW_LOOPBACK))


def _raw_keys(document: Any) -> dict[str, dict[str, Any]]:
    """``kid -> JWK`` as published: the key is loaded for the algorithm an assertion names, so a key
    pinned to another ``alg`` (or of another type or curve) is never used for it."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set")
    return {jwk["kid"]: jwk for jwk in document["keys"][:MAX_REMOTE_KEYS]
            if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str)}


class ClientKeySet(RemoteKeySet):
    """The JWK Set at one client's ``jwks_uri``."""

    opener = _client_opener
    parse = staticmethod(_raw_keys)

    def __init__(self, url: str, **kwargs: Any) -> None:
        problem = jwks_uri_problem(url)
        if problem:
            raise ValueError(problem)
        super().__init__(url, **kwargs)


_lock = threading.Lock()
_remote: OrderedDict[tuple[int, str], ClientKeySet] = OrderedDict()


def _remote_key_set(application: Application) -> ClientKeySet:
    cache_key = (application.pk, application.jwks_uri)
    with _lock:
        key_set = _remote.get(cache_key)
        if key_set is not None:
            _remote.move_to_end(cache_key)
            return key_set
        key_set = ClientKeySet(
            application.jwks_uri,
            timeout=oauth_settings.CLIENT_JWKS_TIMEOUT,
            cache_seconds=oauth_settings.CLIENT_JWKS_CACHE_SECONDS,
            min_refetch_seconds=oauth_settings.CLIENT_JWKS_MIN_REFETCH_SECONDS,
        )
        _remote[cache_key] = key_set
        while len(_remote) > MAX_CACHED_CLIENTS:
            _remote.popitem(last=False)
        return key_set


def clear_client_key_sets() -> None:
    """Forget every fetched client JWK Set (settings changed: ``receivers``; tests)."""
    with _lock:
        _remote.clear()


def client_verification_key(application: Application, kid: str | None, alg: str) -> PyJWK | None:
    """The client's registered key named ``kid``, loaded to verify ``alg``, or None (no such key, or
    it cannot verify ``alg``: wrong type or curve, or pinned to another ``alg``).

    Without a ``kid`` the assertion names no key: accepted only when an inline set holds exactly one
    key (a remote set is looked up by ``kid``, so that it can rotate).
    Raises ``KeySetUnavailable`` when a jwks_uri cannot be fetched and nothing is cached.
    """
    if application.jwks is not None:
        keys = [jwk for jwk in application.jwks.get("keys", []) if isinstance(jwk, dict)]
        # No kid names no key: acceptable only when there is exactly one to choose.
        chosen = [jwk for jwk in keys if jwk.get("kid") == kid] if kid is not None else keys
        return key_for_algorithm(chosen[0], alg) if len(chosen) == 1 else None
    if application.jwks_uri and kid is not None:
        try:
            key_set = _remote_key_set(application)
        except ValueError:
            return None  # the stored URL no longer passes the rules (e.g. loopback switched off)
        found = key_set.get(kid)
        return key_for_algorithm(found, alg) if isinstance(found, dict) else None
    return None
