"""Django system checks for misconfiguration; ids are stable and documented in the README.

Errors stop the server from starting with a broken configuration; ``--deploy`` warnings name the
docs/SECURITY.md item a weak setting undermines.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from oauth_provider.conf import SUPPORTED_SIGNING_ALGORITHMS, oauth_settings
from oauth_provider.jwk_sets import allowed_assertion_algorithms
from oauth_provider.scopes import SCOPE_TOKEN


@checks.register("oauth_provider")
def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        oauth_settings.user_settings  # noqa: B018 - fails on unknown keys
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="oauth_provider.E006")]
    errors: list[checks.CheckMessage] = []
    issuer = oauth_settings.ISSUER
    if not issuer:
        errors.append(
            checks.Error(
                "OAUTH_PROVIDER['ISSUER'] is not set.",
                hint="Set it to the https URL of this server, e.g. 'https://auth.example.com'.",
                id="oauth_provider.E001",
            )
        )
    else:
        parts = urlsplit(issuer)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
            errors.append(
                checks.Error(
                    f"OAUTH_PROVIDER['ISSUER'] {issuer!r} is not an absolute URL without query or fragment.",
                    hint="RFC 8414 §2: the issuer is an https URL with scheme and host and no query or fragment.",
                    id="oauth_provider.E002",
                )
            )
    if oauth_settings.SIGNING_ALGORITHM not in SUPPORTED_SIGNING_ALGORITHMS:
        errors.append(
            checks.Error(
                f"OAUTH_PROVIDER['SIGNING_ALGORITHM'] {oauth_settings.SIGNING_ALGORITHM!r} is not supported.",
                hint=f"Use one of {', '.join(SUPPORTED_SIGNING_ALGORITHMS)}.",
                id="oauth_provider.E003",
            )
        )
    bad_scopes = [name for name in oauth_settings.SCOPES if not SCOPE_TOKEN.match(name)]
    missing_defaults = [name for name in oauth_settings.DEFAULT_SCOPES if name not in oauth_settings.SCOPES]
    if bad_scopes or missing_defaults:
        errors.append(
            checks.Error(
                "OAUTH_PROVIDER scopes are invalid: "
                + "; ".join(
                    filter(
                        None,
                        [
                            bad_scopes and f"malformed names {bad_scopes}",
                            missing_defaults and f"DEFAULT_SCOPES not in SCOPES: {missing_defaults}",
                        ],
                    )
                ),
                hint="Scope names are printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3).",
                id="oauth_provider.E004",
            )
        )
    try:
        oauth_settings.GRANT_TYPES  # noqa: B018 - resolves the import strings
    except ImproperlyConfigured as exc:
        errors.append(checks.Error(str(exc), id="oauth_provider.E005"))
    lifetimes = ("ACCESS_TOKEN_LIFETIME", "AUTHORIZATION_CODE_LIFETIME", "SIGNING_KEY_CACHE_SECONDS",
                 "DEVICE_CODE_LIFETIME", "DEVICE_CODE_INTERVAL", "DEVICE_USER_CODE_FAILURE_WINDOW",
                 "PUSHED_AUTHORIZATION_REQUEST_LIFETIME", "PUSHED_AUTHORIZATION_REQUEST_INTERACTION_SECONDS",
                 "CLIENT_ASSERTION_MAX_LIFETIME", "CLIENT_JWKS_MIN_REFETCH_SECONDS", "CLIENT_JWKS_TIMEOUT")
    for name in lifetimes:
        value = getattr(oauth_settings, name)
        if not isinstance(value, int) or value <= 0:
            errors.append(
                checks.Error(f"OAUTH_PROVIDER['{name}'] must be a positive number of seconds.",
                             id="oauth_provider.E007")
            )
    errors.extend(_registration_errors())
    try:
        allowed_assertion_algorithms()
    except ImproperlyConfigured as exc:
        errors.append(checks.Error(str(exc), id="oauth_provider.E015"))
    return errors


def _registration_errors() -> list[checks.CheckMessage]:
    """REGISTRATION_MODE is known and REGISTRATION_SCOPES are server scopes (RFC 7591)."""
    from oauth_provider.endpoints.register import REGISTRATION_MODES

    problems = []
    if oauth_settings.REGISTRATION_MODE not in REGISTRATION_MODES:
        problems.append(f"REGISTRATION_MODE must be one of {', '.join(REGISTRATION_MODES)}")
    scopes = oauth_settings.REGISTRATION_SCOPES
    if scopes is not None and (isinstance(scopes, str) or any(s not in oauth_settings.SCOPES for s in scopes)):
        problems.append("REGISTRATION_SCOPES must be None or a list of names from SCOPES")
    if not problems:
        return []
    return [checks.Error("OAUTH_PROVIDER: " + "; ".join(problems) + ".", id="oauth_provider.E008")]


@checks.register("oauth_provider", deploy=True)
def check_deploy(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    warnings: list[checks.CheckMessage] = []
    issuer = oauth_settings.ISSUER or ""
    if issuer.startswith("http://"):
        warnings.append(
            checks.Warning(
                "The issuer uses http: tokens and secrets would cross the network in clear text.",
                hint="Serve the authorization server over https (docs/SECURITY.md S24).",
                id="oauth_provider.W001",
            )
        )
    if not oauth_settings.KEY_ENCRYPTION_KEYS:
        warnings.append(
            checks.Warning(
                "Private signing keys are encrypted with a key derived from SECRET_KEY.",
                hint="Set OAUTH_PROVIDER['KEY_ENCRYPTION_KEYS'] to a secret of its own (docs/SECURITY.md S24).",
                id="oauth_provider.W002",
            )
        )
    if isinstance(oauth_settings.ACCESS_TOKEN_LIFETIME, int) and oauth_settings.ACCESS_TOKEN_LIFETIME > 3600:
        warnings.append(
            checks.Warning(
                "Access tokens live longer than an hour.",
                hint="Keep ACCESS_TOKEN_LIFETIME at 600 seconds or less and use refresh tokens (docs/SECURITY.md S10).",
                id="oauth_provider.W003",
            )
        )
    code_lifetime = oauth_settings.AUTHORIZATION_CODE_LIFETIME
    if isinstance(code_lifetime, int) and code_lifetime > 60:
        warnings.append(
            checks.Warning(
                "Authorization codes live longer than 60 seconds.",
                hint="Keep AUTHORIZATION_CODE_LIFETIME at 60 seconds or less (docs/SECURITY.md S6).",
                id="oauth_provider.W004",
            )
        )
    if oauth_settings.REGISTRATION_MODE == "open":
        warnings.append(
            checks.Warning(
                "Dynamic client registration is open: anyone can create clients.",
                hint="Use REGISTRATION_MODE 'initial_access_token' unless open registration is intended "
                     "(docs/SECURITY.md S4).",
                id="oauth_provider.W008",
            )
        )
    disabled = [name for name in ("TOKEN_RATE_LIMIT_PER_CLIENT", "TOKEN_RATE_LIMIT_PER_ADDRESS")
                if getattr(oauth_settings, name) is None]
    if disabled:
        warnings.append(
            checks.Warning(
                f"Token endpoint rate limiting is off: {', '.join(disabled)} is None.",
                hint="Set a limit so that guessing client secrets is bounded (docs/SECURITY.md S23).",
                id="oauth_provider.W009",
            )
        )
    if oauth_settings.CLIENT_JWKS_URI_ALLOW_LOOPBACK:
        warnings.append(
            checks.Warning(
                "Client jwks_uris may point to loopback addresses over plain http.",
                hint="Turn CLIENT_JWKS_URI_ALLOW_LOOPBACK off outside tests: a registered client could make the "
                     "server fetch from services on its own machine.",
                id="oauth_provider.W015",
            )
        )
    return warnings


# Per-client opt-ins that weaken the defaults: check id, test on (allow_plain_pkce, grant_types), wording.
_WEAK_CLIENT_OPTIONS = (
    (
        "oauth_provider.W005",
        lambda plain, grants: plain,
        "allow the plain PKCE method",
        "plain PKCE gives no protection when the challenge leaks; use S256 (docs/SECURITY.md S5).",
    ),
    (
        "oauth_provider.W006",
        lambda plain, grants: "implicit" in grants,
        "are allowed the implicit grant",
        "The implicit grant puts tokens in URLs; use the authorization code flow with PKCE "
        "(docs/SECURITY.md S9).",
    ),
    (
        "oauth_provider.W007",
        lambda plain, grants: "password" in grants,
        "are allowed the password grant",
        "The password grant shows user passwords to clients; use the authorization code flow "
        "(docs/SECURITY.md S9).",
    ),
)


@checks.register("oauth_provider", deploy=True)
def check_weak_clients(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Active clients that opted in to a weaker behaviour (reads the database; skipped if it cannot)."""
    from oauth_provider.models import Application

    try:
        active = Application.objects.filter(is_active=True)
        clients = list(active.values_list("client_id", "allow_plain_pkce", "grant_types"))
    except DatabaseError:
        return []  # no database or no tables yet (before migrate): nothing to report
    warnings: list[checks.CheckMessage] = []
    for check_id, weak, wording, hint in _WEAK_CLIENT_OPTIONS:
        names = sorted(client_id for client_id, plain, grants in clients if weak(plain, grants or []))
        if names:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            warnings.append(
                checks.Warning(f"{len(names)} active client(s) {wording}: {shown}.", hint=hint, id=check_id)
            )
    return warnings
