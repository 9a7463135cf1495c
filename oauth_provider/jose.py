"""The one place JWTs are signed and checked: JOSE profiles, over PyJWT (RFC 7515, RFC 7519, RFC 8725).

A *profile* names what kind of JWT a token is: its ``typ`` header (explicit typing, RFC 8725 §3.11) and
the claims it must carry: ``ACCESS_TOKEN`` (RFC 9068), ``ID_TOKEN`` (OpenID Connect Core §2),
``CLIENT_ASSERTION`` (RFC 7523 §3, what a ``private_key_jwt`` client signs; ``clients/assertion.py`` adds
its own rules) and ``DPOP_PROOF`` (``dpop+jwt``, RFC 9449 §4.2); ``issue`` and ``verify`` are the same for
every profile.

- ``issue(claims, key)`` signs a JWT of a profile with one of our keys (header ``typ``, ``kid``, ``alg``).
- ``verify(token, ...)`` is the only checker: the authorization server's own look-ups (introspection,
  revocation: ``tokens.lookup``) and the resource side (``resource.validator``) both call it.
- ``unverified_header(token)`` is the one JOSE header reader.
- ``parse_jwk_set(document)`` turns a JWK Set into the ``kid -> PyJWK`` dict ``verify`` looks keys up in.
- ``verify_dpop_proof(proof, algorithms)`` checks a DPoP proof as a JWT: signed by the public key in its
  own header; ``jwk_thumbprint`` (RFC 7638) names that key and ``access_token_hash`` is ``ath``. What a
  proof says about the HTTP request (``htm``, ``htu``, ``iat``, ``nonce``, replay) is ``oauth_provider.dpop``.

Nothing here touches the database or the settings: keys and parameters come from the caller.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from jwt import PyJWK

from oauth_provider.errors import InvalidDPoPProof, InvalidToken

logger = logging.getLogger("oauth_provider")

# Far longer than any token this server issues; bounds the work an attacker can ask for.
MAX_TOKEN_LENGTH = 8192

# Algorithms never accepted, whatever a configuration says (RFC 8725 §3.1, docs/SECURITY.md S14):
# "none" signs nothing, and an HMAC "verified" with a public key lets anyone who has it sign tokens.
FORBIDDEN_ALGORITHMS = frozenset({"none", "HS256", "HS384", "HS512"})

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")

MALFORMED = "The access token is malformed."


@dataclass(frozen=True)
class Profile:
    """A kind of JWT: its media type (the ``typ`` header) and the claims every such token carries.

    ``string_claims`` must moreover be non-empty strings (they name a party or the token itself).
    """

    typ: str
    required_claims: tuple[str, ...]
    string_claims: tuple[str, ...] = ()
    # What the JWT is called in error messages.
    noun: str = "access token"
    # Whether a JWT without ``typ`` is of this profile (JWTs signed by others often carry none).
    typ_optional: bool = False
    # Whether the header must name its key; without one, ``key_for(None)`` decides (e.g. a single key).
    kid_required: bool = True

    def accepts_type(self, typ: Any) -> bool:
        """Whether a ``typ`` header value names this profile's media type.

        RFC 7515 §4.1.9: ``typ`` is a media type, so it compares case-insensitively, and the
        ``application/`` prefix may be left out (a value with no other "/" means application/<value>).
        Hence RFC 9068 §4 requires accepting both "at+jwt" and "application/at+jwt"; any case of either
        is the same media type. Anything else, or no ``typ``, is another kind of JWT (docs/SECURITY.md S15).
        """
        if typ is None:
            return self.typ_optional
        if not isinstance(typ, str):
            return False
        typ = typ.lower()
        return typ == self.typ or typ == "application/" + self.typ


# RFC 9068 §2.2: every JWT access token carries iss, exp, aud, sub, client_id, iat and jti; a resource
# server must reject one that lacks any of them (§4). The server side checks the same set: a token
# without one of them is not an access token we issued, so it is neither introspected nor revoked.
ACCESS_TOKEN = Profile(
    typ="at+jwt",  # RFC 9068 §2.1; issued without the optional "application/" prefix
    required_claims=("iss", "exp", "aud", "sub", "client_id", "iat", "jti"),
    string_claims=("sub", "client_id", "jti"),
)


# OpenID Connect Core §2: an ID Token carries iss, sub, aud, exp and iat. Core defines no media type; it is
# issued as "JWT" (RFC 7519 §5.1), which keeps it apart from access tokens ("at+jwt") both ways: neither
# verifies as the other (docs/SECURITY.md S15).
ID_TOKEN = Profile(
    typ="jwt",
    required_claims=("iss", "sub", "aud", "exp", "iat"),
    string_claims=("sub",),
)
ID_TOKEN_HEADER_TYPE = "JWT"

# RFC 7523 §3 (and OIDC Core §9): a client authenticating with a JWT it signed. No ``typ`` is defined for
# it; "JWT" (RFC 7519 §5.1) or none is accepted, any other type (an access token, a DPoP proof) is not.
CLIENT_ASSERTION = Profile(
    typ="jwt",
    required_claims=("iss", "sub", "aud", "exp", "jti"),
    string_claims=("iss", "sub", "jti"),
    noun="client assertion",
    typ_optional=True,
    kid_required=False,
)


class SigningKey(Protocol):
    """What ``issue`` needs of a key (``keys.LoadedKey`` is one)."""

    kid: str
    algorithm: str
    private_key: Any


KeyLookup = Callable[["str | None"], "PyJWK | None"]


def check_algorithms(algorithms: Collection[str]) -> tuple[str, ...]:
    """The allow-list as a tuple; ValueError when it is empty or names none or an HMAC algorithm."""
    forbidden = sorted(a for a in algorithms if a in FORBIDDEN_ALGORITHMS or a.lower() == "none")
    if forbidden or not algorithms:
        raise ValueError(f"refused: {forbidden or 'an empty list'}")
    return tuple(algorithms)


def issue(claims: Mapping[str, Any], key: SigningKey, profile: Profile = ACCESS_TOKEN) -> str:
    """Sign ``claims`` as a JWT of ``profile`` with ``key``: header ``typ``, ``kid`` and ``alg``."""
    missing = [name for name in profile.required_claims if claims.get(name) is None]
    if missing:
        raise ValueError(f"a {profile.typ} token needs the claims {missing}")
    typ = ID_TOKEN_HEADER_TYPE if profile is ID_TOKEN else profile.typ
    return jwt.encode(dict(claims), key.private_key, algorithm=key.algorithm, headers={"typ": typ, "kid": key.kid})


def unverified_header(token: Any) -> dict[str, Any]:
    """The JOSE header of a compact JWS, read only to choose the key and the algorithm.

    Strict: a token longer than ``MAX_TOKEN_LENGTH``, a first segment that is not unpadded base64url,
    or a header that is not a JSON object raises ``InvalidToken``. ``verify`` then has PyJWT parse the
    whole token and check this very header under the signature. (This reader exists because PyJWT's
    ``get_unverified_header`` validates the segment character by character in Python, which costs about
    a third of a whole validation; tests/test_jose.py holds both readers to the same answers.)
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken(MALFORMED)
    segment, dot, _ = token.partition(".")
    if not dot or not _BASE64URL.fullmatch(segment):
        raise InvalidToken(MALFORMED)
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidToken(MALFORMED) from None
    if not isinstance(header, dict):
        raise InvalidToken(MALFORMED)
    return header


def verify(
    token: Any,
    *,
    key_for: KeyLookup,
    issuer: str,
    audience: str | Collection[str] | None,
    algorithms: Collection[str],
    leeway: float = 0,
    check_time: bool = True,
    profile: Profile = ACCESS_TOKEN,
) -> dict[str, Any]:
    """The claims of a token of ``profile`` signed by a trusted key, else ``InvalidToken`` saying why.

    - ``key_for(kid)`` gives the trusted key named by the header's ``kid`` (or None); ``jku``, ``x5u``,
      ``jwk`` and ``x5c`` are never used. A profile whose ``kid`` is optional calls ``key_for(None)``.
    - The algorithm must be in ``algorithms`` and be the key's own (RFC 8725 §3.1): an RSA key never
      verifies an HMAC or EC signature; none and HMAC are refused whatever the list says.
    - ``typ`` must be the profile's (``Profile.accepts_type``) and its required claims present.
    - ``iss`` must be ``issuer``; ``aud`` must contain ``audience`` (one of them, when it is a list),
      unless it is None: the authorization server's introspection decides itself who may see which audience.
    - ``exp``, ``nbf`` and ``iat`` are checked with ``leeway`` unless ``check_time`` is False: the
      authorization server's look-ups let the stored row (and RFC 7662 ``active``) decide liveness,
      so an expired token of ours can still be introspected (inactive) and revoked (RFC 7009 §2.2).
    """
    noun = profile.noun
    header = unverified_header(token)
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in algorithms or algorithm in FORBIDDEN_ALGORITHMS:
        raise InvalidToken(f"The {noun} is signed with an algorithm that is not accepted.")
    if not profile.accepts_type(header.get("typ")):
        article = "an" if noun[0] in "aeiou" else "a"
        raise InvalidToken(f"The token is not {article} {noun} (typ must be {profile.typ}).")
    kid = header.get("kid")
    if (profile.kid_required or kid is not None) and (not isinstance(kid, str) or not kid):
        raise InvalidToken(f"The {noun} names no signing key (kid).")
    key = key_for(kid)
    if key is None:
        raise InvalidToken(f"The {noun} is signed with an unknown key.")
    if key.algorithm_name != algorithm:
        raise InvalidToken(f"The {noun}'s algorithm does not match its key.")
    claims = _decode(token, key, algorithm, issuer=issuer, audience=audience, leeway=leeway,
                     check_time=check_time, profile=profile)
    for name in profile.string_claims:
        if not isinstance(claims[name], str) or not claims[name]:
            raise InvalidToken(f"The {noun}'s {name} claim is invalid.")
    return claims


def _decode(token: str, key: PyJWK, algorithm: str, *, issuer: str, audience: str | Collection[str] | None,
            leeway: float, check_time: bool, profile: Profile) -> dict[str, Any]:
    noun = profile.noun
    options = {
        "require": list(profile.required_claims),
        "verify_aud": audience is not None,
        "verify_exp": check_time,
        "verify_nbf": check_time,
        "verify_iat": check_time,
    }
    try:
        return jwt.decode(token, key, algorithms=[algorithm], audience=audience, issuer=issuer, leeway=leeway,
                          options=options)
    except jwt.ExpiredSignatureError:
        raise InvalidToken(f"The {noun} expired.") from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken(f"The {noun} is not valid yet.") from None
    except jwt.InvalidAudienceError:
        meant_for = "this API" if profile is ACCESS_TOKEN else "this server"
        raise InvalidToken(f"The {noun} is not meant for {meant_for} (aud).") from None
    except jwt.InvalidIssuerError:
        raise InvalidToken(f"The {noun} comes from another issuer (iss).") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"The {noun} lacks the {exc.claim} claim.") from None
    except jwt.InvalidSignatureError:
        raise InvalidToken(f"The {noun} signature is invalid.") from None
    except jwt.PyJWTError:
        raise InvalidToken(f"The {noun} is invalid.") from None


def parse_jwk_set(document: Any) -> dict[str, PyJWK]:
    """``kid -> PyJWK`` for the usable signing keys of a JWK Set (RFC 7517 §5); ValueError if it is none.

    Keys without a ``kid``, meant for encryption (``use`` other than ``sig``), or of a type PyJWT
    cannot load are skipped: a token can only ever name a key by ``kid``.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set")
    keys: dict[str, PyJWK] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        try:
            keys[jwk["kid"]] = PyJWK(jwk)
        except jwt.PyJWTError:
            logger.warning("skipping an unusable key in the JWK Set: kid=%r", jwk["kid"][:64])
    return keys


# --- DPoP proofs (RFC 9449 §4) -----------------------------------------------------------------------

# RFC 9449 §4.2: a proof is explicitly typed and carries these claims (ath and nonce when asked for).
DPOP_PROOF = Profile(typ="dpop+jwt", required_claims=("jti", "htm", "htu", "iat"), string_claims=("jti", "htm", "htu"))

# The key type (and curve) each proof algorithm needs; PyJWT then loads the key for that algorithm.
DPOP_ALGORITHM_KEYS: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None), "RS384": ("RSA", None), "RS512": ("RSA", None),
    "PS256": ("RSA", None), "PS384": ("RSA", None), "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"), "ES384": ("EC", "P-384"), "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None),
}

# RFC 7638 §3.2: the members of each key type that make up its thumbprint.
THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}

# RFC 7518 §6.2.2, §6.3.2 and §6.4.1, RFC 8037 §2: members only a private or secret key has.
PRIVATE_KEY_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

MAX_JTI_LENGTH = 256

_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class DPoPProof:
    """A proof whose signature verified with its own ``jwk``: the key's thumbprint and the claims."""

    jkt: str
    algorithm: str
    jwk: dict[str, Any]
    claims: dict[str, Any]

    @property
    def jti(self) -> str:
        return self.claims["jti"]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url without padding.

    PyJWT has no thumbprint (joserfc has one but is only a test dependency), so the canonical JSON of
    RFC 7638 §3 is built here: the required members only, in lexicographic order, no whitespace; then
    hashed. Tests hold it to the RFC 7638 §3.1 example and to joserfc. ValueError for another key type
    or a missing member.
    """
    kty = jwk.get("kty")
    members = THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise ValueError("unsupported key type")
    values = {name: jwk.get(name) for name in members}
    if not all(isinstance(value, str) and value for value in values.values()):
        raise ValueError("a required key member is missing")
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def access_token_hash(token: str) -> str:
    """``ath`` (RFC 9449 §4.2): base64url of the SHA-256 of the ASCII access token."""
    return _b64url(hashlib.sha256(token.encode("ascii")).digest())


def _proof_key(header: Mapping[str, Any], algorithm: str) -> tuple[PyJWK, dict[str, Any], str]:
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise InvalidDPoPProof("The DPoP proof carries no jwk header.")
    if PRIVATE_KEY_MEMBERS.intersection(jwk):
        raise InvalidDPoPProof("The DPoP proof's jwk contains private key material.")
    kty, crv = DPOP_ALGORITHM_KEYS[algorithm]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise InvalidDPoPProof(f"The DPoP proof's jwk is not a key for {algorithm}.")
    if kty == "OKP" and jwk.get("crv") not in ("Ed25519", "Ed448"):
        raise InvalidDPoPProof("The DPoP proof's jwk is not a key for EdDSA.")
    try:
        key = PyJWK.from_dict(jwk, algorithm=algorithm)
        jkt = jwk_thumbprint(jwk)
    except (jwt.PyJWTError, ValueError, TypeError, binascii.Error):
        raise InvalidDPoPProof("The DPoP proof's jwk is not a valid public key.") from None
    return key, jwk, jkt


def verify_dpop_proof(proof: Any, *, algorithms: Collection[str]) -> DPoPProof:
    """A DPoP proof checked as a JWT (RFC 9449 §4.3 items 1-7), else ``InvalidDPoPProof`` saying why.

    A compact JWS of bounded size; ``typ`` ``dpop+jwt``; ``alg`` in ``algorithms`` and never none or an
    HMAC (RFC 8725 §3.1); ``jwk`` a public key of the type ``alg`` needs, with no private member; the
    signature verified by PyJWT with that very key; ``jti``, ``htm``, ``htu`` and ``iat`` present
    (``jti``, ``htm``, ``htu`` non-empty strings, ``iat`` a number). ``exp``, if any, is honoured.
    """
    if not isinstance(proof, str) or len(proof) > MAX_TOKEN_LENGTH or not _JWS.fullmatch(proof):
        raise InvalidDPoPProof("The DPoP proof is not a compact JWS.")
    try:
        header = unverified_header(proof)
    except InvalidToken:
        raise InvalidDPoPProof("The DPoP proof's header is malformed.") from None
    if not DPOP_PROOF.accepts_type(header.get("typ")):
        raise InvalidDPoPProof("The DPoP proof's typ must be dpop+jwt.")
    algorithm = header.get("alg")
    if (not isinstance(algorithm, str) or algorithm in FORBIDDEN_ALGORITHMS or algorithm not in DPOP_ALGORITHM_KEYS
            or algorithm not in algorithms):
        raise InvalidDPoPProof("The DPoP proof is signed with an algorithm that is not accepted.")
    key, jwk, jkt = _proof_key(header, algorithm)
    try:
        # iat is judged by the caller against its window; a proof has no aud, iss or nbf to check.
        claims = jwt.decode(proof, key, algorithms=[algorithm],
                            options={"verify_aud": False, "verify_iss": False, "verify_iat": False,
                                     "verify_nbf": False})
    except jwt.InvalidSignatureError:
        raise InvalidDPoPProof("The DPoP proof's signature does not verify with its jwk.") from None
    except jwt.ExpiredSignatureError:
        raise InvalidDPoPProof("The DPoP proof expired.") from None
    except jwt.PyJWTError:
        raise InvalidDPoPProof("The DPoP proof is malformed.") from None
    missing = [name for name in DPOP_PROOF.required_claims if name not in claims]
    if missing:
        raise InvalidDPoPProof(f"The DPoP proof lacks the {missing[0]} claim.")
    for name in DPOP_PROOF.string_claims:
        value = claims[name]
        if not isinstance(value, str) or not value or len(value) > (MAX_JTI_LENGTH if name == "jti" else 4096):
            raise InvalidDPoPProof(f"The DPoP proof's {name} claim is invalid.")
    iat = claims["iat"]
    if isinstance(iat, bool) or not isinstance(iat, (int, float)):
        raise InvalidDPoPProof("The DPoP proof's iat claim is invalid.")
    public_jwk = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    return DPoPProof(jkt=jkt, algorithm=algorithm, jwk=public_jwk, claims=dict(claims))
