"""The one validator of access tokens presented to APIs: RFC 9068 profile, RFC 8725 practices.

Every resource-side entry point (middleware, DRF authentication and permissions, decorators)
calls ``get_validator().validate(token)``, which checks the token with ``jose.verify`` (the one
checker, shared with the authorization server's introspection and revocation) and turns the claims
into an ``AccessTokenInfo``. The default path verifies with keys cached in process and makes no
database query; the revocation check (on by default) is a membership test on the in-process list
of ``tokens.revocation`` (docs/SECURITY.md S26).

A token presented many times is verified once per process: ``VerifiedTokens`` keeps what
``jose.verify`` accepted, by the token's SHA-256 digest, until the token's own ``exp``, and only
while the key that verified it is still the one the key set gives for its ``kid`` (a reload that
drops or replaces the key, or the key cache's ``clear()``, ends the entry). What depends on the
request or on state that changes under a token (revocation; a DPoP proof, RFC 9449) is never cached:
``TokenValidator.validate`` runs it on every request, after the cache.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured, ValidationError
from jwt import PyJWK

from oauth_provider import jose
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidToken
from oauth_provider.models import AccessToken
from oauth_provider.resource.keysets import KeySet, key_set_from_settings
from oauth_provider.scopes import parse_scope
from oauth_provider.tokens.revocation import is_jti_revoked


@dataclass(frozen=True)
class AccessTokenInfo:
    """A verified access token: what APIs read from ``request.oauth`` / DRF's ``request.auth``.

    ``user`` is resolved on first use (one query); a client-credentials token, whose ``sub`` is
    the client's own id (RFC 9068 §2.2), has no user and gives AnonymousUser.
    """

    claims: Mapping[str, Any] = field(repr=False)
    scopes: tuple[str, ...]
    client_id: str
    subject: str
    jti: str

    @property
    def is_client_only(self) -> bool:
        """True for a token a client obtained for itself (no user involved)."""
        return self.subject == self.client_id

    @property
    def expires_at(self) -> int:
        return int(self.claims["exp"])

    def has_scopes(self, *scopes: str) -> bool:
        return set(scopes) <= set(self.scopes)

    @cached_property
    def user(self) -> Any:
        """The Django user named by ``sub``; AnonymousUser for client tokens, unknown or inactive users."""
        if self.is_client_only:
            return AnonymousUser()
        user_model = get_user_model()
        try:
            pk = user_model._meta.pk.to_python(self.subject)
        except ValidationError:
            # Not a primary key: a pairwise sub (OpenID Connect Core §8), which only the token's
            # record can resolve. Still one query, and only on a database this server issues into.
            user = _user_of_token(self.jti)
        else:
            user = user_model._default_manager.filter(pk=pk).first()
            if user is None:
                # A string primary key accepts a pairwise sub too; it names nobody, the record does.
                user = _user_of_token(self.jti)
        if user is None or not getattr(user, "is_active", True):
            return AnonymousUser()
        return user


def _user_of_token(jti: str) -> Any:
    record = AccessToken.objects.select_related("user").filter(jti=jti).first()
    return record.user if record is not None else None


@dataclass(frozen=True)
class _Verified:
    """What ``jose.verify`` accepted for one token, and what it was accepted with."""

    claims: Mapping[str, Any]
    scopes: tuple[str, ...]
    client_id: str
    subject: str
    jti: str
    kid: str
    key: PyJWK  # the very key object that verified the signature
    expires_at: float  # the token's exp: the entry is never used from then on

    def info(self) -> AccessTokenInfo:
        # A new AccessTokenInfo per request: its ``user`` (a cached_property) is loaded per request
        # and never shared between requests or threads.
        return AccessTokenInfo(claims=self.claims, scopes=self.scopes, client_id=self.client_id,
                               subject=self.subject, jti=self.jti)


class VerifiedTokens:
    """A bounded per-process cache of verified access tokens, keyed by the SHA-256 digest of the token.

    The digest, not the token: a token is a bearer credential, so the cache holds no usable secret
    past the request that brought it (as tokens are stored everywhere else, docs/SECURITY.md), and
    every key is 32 bytes whatever the token's length, so ``max_entries`` bounds the memory. A lookup
    hashes the exact token string: a token that differs in any character is another key.

    Only tokens that verified are added, so invalid or forged tokens neither fill the cache nor
    evict anything. When full, the oldest entry goes (insertion order; entries share one lifetime,
    so that is also about the first to expire). Readers take no lock; one lock serialises writes.
    """

    def __init__(self, max_entries: int, *, clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max(0, int(max_entries))
        self.clock = clock
        self._entries: dict[bytes, _Verified] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str) -> bytes:
        return hashlib.sha256(token.encode("utf-8")).digest()

    def get(self, digest: bytes, key_set: KeySet) -> _Verified | None:
        """The entry for ``digest`` while the token is unexpired and its key is still the key set's."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if self.clock() < entry.expires_at and key_set.get(entry.kid) is entry.key:
            return entry
        with self._lock:
            if self._entries.get(digest) is entry:
                del self._entries[digest]
        return None

    def put(self, digest: bytes, entry: _Verified) -> None:
        if not self.max_entries or self.clock() >= entry.expires_at:
            return
        with self._lock:
            self._entries.pop(digest, None)
            while len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[digest] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries = {}

    def __len__(self) -> int:
        return len(self._entries)


class TokenValidator:
    """Verify a JWT access token against one issuer, one audience and trusted keys."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str] | tuple[str, ...],
        key_set: KeySet,
        leeway: float = 30,
        check_revocation: bool = False,
        cache_size: int = 0,
    ) -> None:
        try:
            self.algorithms = jose.check_algorithms(algorithms)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"OAUTH_PROVIDER['RESOURCE_ALGORITHMS'] must list asymmetric algorithms only ({exc})"
            ) from None
        if not issuer or not audience:
            raise ImproperlyConfigured("The resource side needs an issuer and an audience (ISSUER setting).")
        self.issuer = issuer
        self.audience = audience
        self.key_set = key_set
        self.leeway = leeway
        self.check_revocation = check_revocation
        self.verified_tokens = VerifiedTokens(cache_size)

    @classmethod
    def from_settings(cls) -> TokenValidator:
        return cls(
            issuer=oauth_settings.RESOURCE_ISSUER or oauth_settings.ISSUER,
            audience=oauth_settings.RESOURCE_AUDIENCE or oauth_settings.access_token_audience,
            algorithms=oauth_settings.RESOURCE_ALGORITHMS,
            key_set=key_set_from_settings(oauth_settings),
            leeway=oauth_settings.RESOURCE_LEEWAY,
            check_revocation=revocation_check_enabled(),
            cache_size=oauth_settings.RESOURCE_TOKEN_CACHE_SIZE,
        )

    def validate(self, token: str) -> AccessTokenInfo:
        """The verified token, or ``InvalidToken`` saying (without secrets) what is wrong with it.

        ``verified`` (signature, typ, iss, aud, times, claims) may come from the per-process cache;
        everything after it runs on every request. The seam for per-request proofs is here: a DPoP
        proof (RFC 9449 §4.3, §7) is checked against this request after ``verified`` and is never
        cached, like the revocation check below.
        """
        info = self.verified(token)
        if self.check_revocation and is_jti_revoked(info.jti):
            raise InvalidToken("The access token has been revoked.")
        return info

    def verified(self, token: str) -> AccessTokenInfo:
        """The token checked by ``jose.verify``, at most once per process while it is unexpired."""
        if not isinstance(token, str) or len(token) > jose.MAX_TOKEN_LENGTH or not token.isascii():
            return self._verify(token).info()  # never a token: jose.verify refuses it before any hashing
        digest = VerifiedTokens.key(token)
        entry = self.verified_tokens.get(digest, self.key_set)
        if entry is None:
            entry = self._verify(token)
            self.verified_tokens.put(digest, entry)
        return entry.info()

    def _verify(self, token: str) -> _Verified:
        used: list[tuple[str, PyJWK | None]] = []

        def key_for(kid: str) -> PyJWK | None:
            key = self.key_set.get(kid)
            used.append((kid, key))
            return key

        claims = jose.verify(token, key_for=key_for, issuer=self.issuer, audience=self.audience,
                             algorithms=self.algorithms, leeway=self.leeway)
        scope = claims.get("scope", "")
        try:
            scopes = parse_scope(scope) if isinstance(scope, str) else None
        except ValueError:
            scopes = None
        if scopes is None:
            raise InvalidToken("The access token's scope claim is invalid.")
        kid, key = used[-1]
        return _Verified(
            claims=MappingProxyType(dict(claims)),
            scopes=tuple(scopes),
            client_id=claims["client_id"],
            subject=claims["sub"],
            jti=claims["jti"],
            kid=kid,
            key=key,
            expires_at=float(claims["exp"]),
        )


def revocation_check_enabled() -> bool:
    """RESOURCE_CHECK_REVOCATION, with None (the default) meaning: on unless the keys come from a remote
    JWKS (that server's revocations are in its own database, not ours; see the README)."""
    setting = oauth_settings.RESOURCE_CHECK_REVOCATION
    return not oauth_settings.RESOURCE_JWKS_URL if setting is None else bool(setting)


_validator: TokenValidator | None = None
_validator_lock = threading.Lock()


def get_validator() -> TokenValidator:
    """The process-wide validator built from settings (rebuilt when OAUTH_PROVIDER changes)."""
    global _validator
    validator = _validator
    if validator is None:
        with _validator_lock:
            if _validator is None:
                _validator = TokenValidator.from_settings()
            validator = _validator
    return validator


def reset_validator() -> None:
    """Forget the validator (settings changed; ``receivers`` calls it): the next request builds it again."""
    global _validator
    _validator = None


def clear_verified_tokens() -> None:
    """Drop the cache of verified tokens (``receivers`` calls it on every clear of the key cache)."""
    validator = _validator
    if validator is not None:
        validator.verified_tokens.clear()
