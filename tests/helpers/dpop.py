"""DPoP proofs built by a third-party JOSE library (joserfc), as a real client would build them.

``ProofKey("ES256")`` is one client key pair; ``key.proof("POST", url, ...)`` a signed proof.
Header members and claims can be overridden (``None`` drops one) to craft the negative cases.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

import jwt as pyjwt
from joserfc import jws
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_RSA_POOL: list[RSAKey] = []


def ath(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode("ascii")).digest()).rstrip(b"=").decode()


class ProofKey:
    """A client's DPoP key pair and the proofs it signs."""

    def __init__(self, algorithm: str = "ES256") -> None:
        self.algorithm = algorithm
        if algorithm in _CURVES:
            self.key = ECKey.generate_key(_CURVES[algorithm])
        elif algorithm == "EdDSA":
            self.key = OKPKey.generate_key("Ed25519")
        else:  # RSA: generation is slow, so reuse a couple of pairs for the session
            if len(_RSA_POOL) < 2:
                _RSA_POOL.append(RSAKey.generate_key(2048))
            self.key = _RSA_POOL[secrets.randbelow(len(_RSA_POOL))]

    @property
    def public_jwk(self) -> dict[str, Any]:
        return self.key.as_dict(private=False)

    @property
    def private_jwk(self) -> dict[str, Any]:
        return self.key.as_dict(private=True)

    @property
    def jkt(self) -> str:
        """The RFC 7638 thumbprint, as joserfc computes it."""
        return self.key.thumbprint()

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        header: dict[str, Any] | None = None,
        signing_key: Any = None,
        **claim_overrides: Any,
    ) -> str:
        claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(time.time())}
        if access_token is not None:
            claims["ath"] = ath(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(claim_overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        protected = {"typ": "dpop+jwt", "alg": self.algorithm, "jwk": self.public_jwk, **(header or {})}
        protected = {name: value for name, value in protected.items() if value is not None}
        key = signing_key or self.key
        if "jwk" in protected and not isinstance(protected["jwk"], dict):
            # joserfc will not put a non-object jwk in a header; PyJWT signs what it is given.
            extra = {name: value for name, value in protected.items() if name != "alg"}
            return pyjwt.encode(claims, key.private_key, algorithm=protected["alg"], headers=extra)
        return jose_jwt.encode(protected, claims, key, algorithms=[protected.get("alg")])


def _part(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def unsigned_proof(jwk: dict[str, Any], claims: dict[str, Any]) -> str:
    """An ``alg: none`` proof (no library signs one: it is base64url JSON and an empty signature)."""
    return f"{_part({'typ': 'dpop+jwt', 'alg': 'none', 'jwk': jwk})}.{_part(claims)}."


def hs256_proof(claims: dict[str, Any]) -> str:
    """An HMAC-signed proof carrying its own symmetric key in the header."""
    key = OctKey.generate_key(256)
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": key.as_dict(private=True)}
    return jws.serialize_compact(header, json.dumps(claims).encode(), key, algorithms=["HS256"])
