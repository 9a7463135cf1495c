"""One settings object for the app: ``settings.OAUTH_PROVIDER`` over documented defaults.

Usage::

    from oauth_provider.conf import oauth_settings
    oauth_settings.ACCESS_TOKEN_LIFETIME

Unknown keys fail loudly, import strings are resolved once and cached, and the object reloads
when ``OAUTH_PROVIDER`` changes (``override_settings`` in tests just works). Every key below is
listed with its meaning in the README's settings table.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # The issuer identifier (RFC 8414 §2): an https URL with no query or fragment. Required.
    "ISSUER": None,
    # The `aud` claim of access tokens when the request names no resource; None means the issuer.
    "ACCESS_TOKEN_AUDIENCE": None,
    # Lifetimes, in seconds.
    "ACCESS_TOKEN_LIFETIME": 600,
    "AUTHORIZATION_CODE_LIFETIME": 60,
    "REFRESH_TOKEN_IDLE_LIFETIME": 14 * 24 * 3600,
    "REFRESH_TOKEN_ABSOLUTE_LIFETIME": 90 * 24 * 3600,
    "DEVICE_CODE_LIFETIME": 600,
    "DEVICE_CODE_INTERVAL": 5,
    # JWS algorithm of newly issued access tokens: RS256, ES256 or EdDSA.
    "SIGNING_ALGORITHM": "RS256",
    # Secrets that encrypt private signing keys at rest; the first encrypts, all decrypt (rotation).
    # Empty means a key derived from SECRET_KEY (a deploy check warns).
    "KEY_ENCRYPTION_KEYS": [],
    # Seconds a process keeps the signing keys and the JWKS document before reading them again.
    "SIGNING_KEY_CACHE_SECONDS": 60,
    # Seconds a retired signing key stays published beyond the longest access-token lifetime.
    "RETIRED_KEY_MARGIN": 300,
    # max-age of the JWKS and metadata responses.
    "JWKS_MAX_AGE": 300,
    # Scopes the server knows: name -> human description shown on the consent page.
    "SCOPES": {"read": "Read your data", "write": "Change your data"},
    # Scopes granted when a request names none and the client has no default of its own.
    "DEFAULT_SCOPES": ["read"],
    # Enabled grant types: grant_type -> handler class (import string).
    "GRANT_TYPES": {
        "client_credentials": "oauth_provider.grants.client_credentials.ClientCredentialsGrant",
        "authorization_code": "oauth_provider.grants.authorization_code.AuthorizationCodeGrant",
        "refresh_token": "oauth_provider.grants.refresh_token.RefreshTokenGrant",
        # Usable only by clients whose grant_types include "password" (a deploy check warns).
        "password": "oauth_provider.grants.password.PasswordGrant",
        # RFC 8628 §3.4; also publishes the device authorization endpoint in the metadata.
        "urn:ietf:params:oauth:grant-type:device_code": "oauth_provider.grants.device_code.DeviceCodeGrant",
    },
    # Remember a user's consent per client, so the consent page is shown again only for new scopes.
    "REMEMBER_CONSENT": True,
    # Serve response_type=token (implicit, RFC 6749 §4.2) to clients that opt in; off server-wide by default.
    "IMPLICIT_GRANT_ENABLED": False,
    # Callable (import string) user -> the stable `sub` claim of user tokens; default: the primary key.
    "USER_SUBJECT": "oauth_provider.tokens.default_subject",
    # Password grant guessing limit (docs/SECURITY.md S27): failed logins per username and per source
    # address within the window (seconds) before 429; a username's limit refuses only the addresses
    # that failed for it themselves. None disables that limit.
    "PASSWORD_GRANT_MAX_FAILURES": 5,
    "PASSWORD_GRANT_MAX_FAILURES_PER_ADDRESS": 20,
    "PASSWORD_GRANT_FAILURE_WINDOW": 300,
    # Wrong user codes on the device verification page (RFC 8628 §5.1): entries allowed per user and per
    # source address within the window (seconds) before the page answers 429.
    "DEVICE_USER_CODE_MAX_FAILURES": 5,
    "DEVICE_USER_CODE_MAX_FAILURES_PER_ADDRESS": 20,
    "DEVICE_USER_CODE_FAILURE_WINDOW": 900,
    # Failed client authentications (unknown or inactive client, wrong or missing secret, wrong
    # registration or initial access token) at every endpoint that authenticates clients, counted
    # before the check (docs/SECURITY.md S27): per claimed client_id and per source address within the
    # window (seconds). Over the per-address limit the address is refused; over the per-client limit
    # only the addresses that failed for that client themselves are. Successes are never counted.
    # None disables that limit. Refused: 429 with Retry-After (oauth_provider.ratelimit).
    "CLIENT_AUTH_MAX_FAILURES": 10,
    "CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS": 30,
    "CLIENT_AUTH_FAILURE_WINDOW": 60,
    # Rows created for callers nobody authenticated, per source address within the window (seconds):
    # device authorizations of public clients, and registrations when REGISTRATION_MODE is "open".
    "PUBLIC_DEVICE_AUTHORIZATIONS_PER_ADDRESS": 30,
    "OPEN_REGISTRATIONS_PER_ADDRESS": 10,
    "UNAUTHENTICATED_CREATIONS_WINDOW": 3600,
    # Cache alias that holds rate-limit counters (shared by all processes in production, e.g. Redis).
    "RATE_LIMIT_CACHE": "default",
    # Trusted reverse proxies in front of the server, each appending to X-Forwarded-For (DRF's
    # NUM_PROXIES convention): the client's address is read that many entries from the right.
    # 0: REMOTE_ADDR is the client and X-Forwarded-For is ignored.
    "NUM_PROXIES": 0,
    # DRF throttle classes (import strings) of the OAuth endpoints, for request-rate limits;
    # None: REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES, like any DRF view.
    "THROTTLE_CLASSES": None,
    # Seconds a browser may cache a CORS preflight answer of the token endpoint.
    "CORS_MAX_AGE": 600,
    # Admin dashboard: failed client authentications within one hour that flag a client as attacked.
    "DASHBOARD_FAILED_AUTH_BURST": 10,
    # Admin dashboard: the most days of past hours one page view rolls up (ActivityHour); the rest
    # is counted from the audit trail and rolled up by later views or `oauth_rollup_activity`.
    "DASHBOARD_ROLLUP_MAX_DAYS": 31,
    # Deprecated and ignored: revoked access tokens are recorded in the database (RevokedAccessToken) and
    # each process keeps them in memory (see RESOURCE_CHECK_REVOCATION). Kept so that settings naming it load.
    "REVOCATION_CACHE": "default",
    # Dynamic client registration (RFC 7591): "closed", "initial_access_token" (a token an admin
    # created, see InitialAccessToken) or "open" (anyone; a deploy check warns).
    "REGISTRATION_MODE": "closed",
    # Scopes a registered client may ask for; None means DEFAULT_SCOPES only (the minimal set): list more
    # scopes here to let registered clients ask for them.
    "REGISTRATION_SCOPES": None,
    # Seconds a registration access token (RFC 7592) stays usable; every update issues a new one.
    # None: it never expires.
    "REGISTRATION_ACCESS_TOKEN_LIFETIME": 30 * 24 * 3600,
    # Write AuditEvent rows.
    "AUDIT_ENABLED": True,
    # Days oauth_cleanup keeps audit events; None keeps them for ever.
    "AUDIT_RETENTION_DAYS": 365,
    # Longest accepted value of any single request parameter, in characters.
    "MAX_PARAMETER_LENGTH": 2048,
    # --- DPoP (RFC 9449, oauth_provider.dpop): proofs of possession at the token endpoint and at APIs ---
    # JWS algorithms accepted for DPoP proofs (dpop_signing_alg_values_supported): asymmetric only.
    "DPOP_SIGNING_ALGORITHMS": ["ES256", "RS256", "PS256", "EdDSA"],
    # Oldest accepted proof, in seconds since its iat; and how far ahead of our clock an iat may be.
    "DPOP_PROOF_MAX_AGE": 300,
    "DPOP_CLOCK_SKEW": 30,
    # Require a server nonce (RFC 9449 §8) in proofs sent to the token endpoint, and (§9) to APIs.
    "DPOP_NONCE_REQUIRED": False,
    "RESOURCE_DPOP_NONCE_REQUIRED": False,
    # Seconds one nonce is handed out; the previous window's nonce is still accepted.
    "DPOP_NONCE_LIFETIME": 300,
    # Secret of the nonce HMAC, shared by the authorization server and the APIs that check nonces;
    # None derives one from SECRET_KEY (enough when they run one Django project).
    "DPOP_NONCE_SECRET": None,
    # Cache alias remembering seen proof jtis (shared by every process, e.g. Redis); it must not evict
    # entries early, so not the rate-limit cache (a deploy check warns when it is RATE_LIMIT_CACHE).
    "DPOP_REPLAY_CACHE": "default",
    # --- OpenID Connect (oauth_provider.oidc) ---
    # Scopes OpenID Connect defines (Core §3.1.2.1, §5.4), known to the server beside SCOPES; a SCOPES
    # entry of the same name overrides the description.
    "OIDC_SCOPES": {
        "openid": "Sign you in with your account",
        "profile": "Your name, username and profile details",
        "email": "Your e-mail address",
        "address": "Your postal address",
        "phone": "Your phone number",
    },
    # Seconds an ID Token is valid (its exp - iat).
    "ID_TOKEN_LIFETIME": 600,
    # Class (import string) that gives a user's claims (Core §5.1); see oauth_provider.oidc.claims.
    "CLAIMS_PROVIDER": "oauth_provider.oidc.claims.UserClaimsProvider",
    # Callable (import string) (client, user, scope, target) -> extra claims for access tokens
    # ("access_token") and ID Tokens ("id_token"); None adds nothing. Registered names are refused.
    "CUSTOM_CLAIMS": None,
    # Secret that pairwise subjects are derived from (Core §8.1); None derives it from SECRET_KEY.
    # Changing it changes every pairwise sub: set it once, keep it.
    "PAIRWISE_SUBJECT_SECRET": None,
    # Fetching a client's sector_identifier_uri (Core §8.1): seconds and bytes at most.
    "SECTOR_IDENTIFIER_TIMEOUT": 5,
    "SECTOR_IDENTIFIER_MAX_BYTES": 65536,
    # Allow http://127.0.0.1 sector identifier URIs (tests against a live server only; never in production).
    "SECTOR_IDENTIFIER_ALLOW_LOOPBACK": False,
    # --- high-security clients: PAR (RFC 9126), private_key_jwt (RFC 7523), resource indicators (RFC 8707) ---
    # Seconds a pushed request_uri stays usable (expires_in of the PAR response, RFC 9126 §2.2).
    "PUSHED_AUTHORIZATION_REQUEST_LIFETIME": 60,
    # Seconds the browser that first arrived with a request_uri has to finish (log in, consent).
    "PUSHED_AUTHORIZATION_REQUEST_INTERACTION_SECONDS": 600,
    # Refuse authorization requests that were not pushed first, for every client (RFC 9126 §5).
    "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": False,
    # JWS algorithms accepted for private_key_jwt assertions: asymmetric only (none and HMAC are refused).
    "CLIENT_ASSERTION_ALGORITHMS": ["RS256", "PS256", "ES256", "EdDSA"],
    # Longest accepted time from now to a client assertion's exp, in seconds.
    "CLIENT_ASSERTION_MAX_LIFETIME": 300,
    # Clock skew tolerated on a client assertion's exp, nbf and iat, in seconds.
    "CLIENT_ASSERTION_LEEWAY": 30,
    # A client's jwks_uri: seconds its keys are kept (without Cache-Control max-age), least seconds
    # between two fetches (no storm from forged kids), and seconds to wait for it.
    "CLIENT_JWKS_CACHE_SECONDS": 300,
    "CLIENT_JWKS_MIN_REFETCH_SECONDS": 30,
    "CLIENT_JWKS_TIMEOUT": 5,
    # Allow http jwks_uri on loopback and loopback peers (tests and local demos only; a check warns).
    "CLIENT_JWKS_URI_ALLOW_LOOPBACK": False,
    # --- resource side (oauth_provider.resource): validating access tokens presented to APIs ---
    # The `aud` an API accepts; None means ACCESS_TOKEN_AUDIENCE (or the issuer), what this server issues.
    "RESOURCE_AUDIENCE": None,
    # The `iss` an API accepts; None means ISSUER.
    "RESOURCE_ISSUER": None,
    # JWS algorithms accepted (RFC 8725 §3.1): never taken from the token; none and HMAC are refused.
    "RESOURCE_ALGORITHMS": ["RS256", "ES256", "EdDSA"],
    # Clock skew tolerated on exp, nbf and iat, in seconds.
    "RESOURCE_LEEWAY": 30,
    # JWK Set URL of a remote authorization server; None verifies with this project's SigningKey table.
    "RESOURCE_JWKS_URL": None,
    # Seconds verification keys are kept (remote: when the JWKS response has no Cache-Control max-age).
    "RESOURCE_JWKS_CACHE_SECONDS": 300,
    # Longest a remote JWKS is kept whatever its Cache-Control max-age says (a key the remote removed stays
    # trusted that long at most); None: no cap.
    "RESOURCE_JWKS_MAX_CACHE_SECONDS": 3600,
    # Least seconds between two key reloads caused by an unknown `kid` (no fetch storm from forged kids).
    "RESOURCE_JWKS_MIN_REFETCH_SECONDS": 30,
    # Seconds to wait for the remote JWKS before giving up.
    "RESOURCE_JWKS_TIMEOUT": 5,
    # Verified access tokens kept per process (by digest, until their exp) so a token used many times
    # is verified once; 0 verifies every request. Revocation is still checked on every request.
    "RESOURCE_TOKEN_CACHE_SIZE": 4096,
    # Refuse revoked tokens: a membership test on the revoked-and-unexpired jtis each process keeps in memory
    # (never a query or a cache round trip on the request path). None (the default) means on when verifying
    # with this project's keys, off with RESOURCE_JWKS_URL (another server's revocations are not in our database).
    "RESOURCE_CHECK_REVOCATION": None,
    # Seconds between two reads of the revocations recorded since the last read (a thread per process).
    "RESOURCE_REVOCATION_REFRESH_SECONDS": 0.5,
    # The bound: a revoked token is refused in every process within this many seconds. A process whose
    # last successful read is older (the database unreachable) answers 503 temporarily_unavailable.
    "RESOURCE_REVOCATION_MAX_AGE": 2,
    # The realm of WWW-Authenticate challenges (RFC 6750 §3).
    "RESOURCE_REALM": "api",
}

# Keys whose values are dotted import paths, resolved on first access.
IMPORT_STRINGS: set[str] = {"USER_SUBJECT", "CLAIMS_PROVIDER", "CUSTOM_CLAIMS"}

# Keys whose values are mappings of name -> import path, resolved on first access.
IMPORT_STRING_MAPS: set[str] = {"GRANT_TYPES"}

# Keys whose values are lists of import paths (or None), resolved on first access.
IMPORT_STRING_LISTS: set[str] = {"THROTTLE_CLASSES"}

# Keys that were removed, and what replaces them (named in the error an old settings file gets).
_TOKEN_RATE_LIMITS_REMOVED = (
    "The TOKEN_RATE_LIMIT_* settings were removed (they counted successful requests too): failed client "
    "authentications are limited by CLIENT_AUTH_MAX_FAILURES, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS and "
    "CLIENT_AUTH_FAILURE_WINDOW, request rates by DRF throttles (THROTTLE_CLASSES)."
)
REMOVED_SETTINGS: dict[str, str] = dict.fromkeys(
    ("TOKEN_RATE_LIMIT_PER_CLIENT", "TOKEN_RATE_LIMIT_PER_ADDRESS", "TOKEN_RATE_LIMIT_WINDOW"),
    _TOKEN_RATE_LIMITS_REMOVED,
)

SUPPORTED_SIGNING_ALGORITHMS = ("RS256", "ES256", "EdDSA")


class OAuthProviderSettings:
    """Attribute access to OAUTH_PROVIDER with defaults; import strings resolved and cached."""

    def __init__(self, user_settings: dict[str, Any] | None = None) -> None:
        self._explicit = user_settings
        self._cached: dict[str, Any] = {}
        self._user: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        if self._user is None:
            raw = self._explicit if self._explicit is not None else getattr(settings, "OAUTH_PROVIDER", {})
            unknown = sorted(set(raw) - set(DEFAULTS))
            if unknown:
                hints = dict.fromkeys(REMOVED_SETTINGS[name] for name in unknown if name in REMOVED_SETTINGS)
                raise ImproperlyConfigured(
                    f"Unknown OAUTH_PROVIDER setting(s): {', '.join(unknown)}. "
                    + "".join(f"{hint} " for hint in hints)
                    + "See the settings table in the README."
                )
            self._user = dict(raw)
        return self._user

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid OAUTH_PROVIDER setting: {name!r}")
        if name in self._cached:
            return self._cached[name]
        value = self.user_settings.get(name, DEFAULTS[name])
        if name in IMPORT_STRINGS and isinstance(value, str):
            value = _import(name, value)
        elif name in IMPORT_STRING_MAPS:
            value = {key: _import(f"{name}[{key!r}]", path) for key, path in value.items()}
        elif name in IMPORT_STRING_LISTS and value is not None:
            value = [_import(f"{name}[{index}]", path) for index, path in enumerate(value)]
        self._cached[name] = value
        return value

    @property
    def access_token_audience(self) -> str:
        return self.ACCESS_TOKEN_AUDIENCE or self.ISSUER

    def reload(self) -> None:
        self._cached.clear()
        self._user = None


def _import(setting: str, path: Any) -> Any:
    if not isinstance(path, str):
        return path
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"OAUTH_PROVIDER {setting}: cannot import {path!r}: {exc}") from exc


oauth_settings = OAuthProviderSettings()

# Settings whose change reloads ``oauth_settings``; ``oauth_provider.receivers`` also drops the
# per-process caches built on them (signing keys, the resource validator).
RELOADING_SETTINGS = frozenset({"OAUTH_PROVIDER", "SECRET_KEY"})


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in RELOADING_SETTINGS:
        oauth_settings.reload()


setting_changed.connect(_settings_changed)
