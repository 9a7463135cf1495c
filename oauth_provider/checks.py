"""Django system checks for misconfiguration; ids are stable and documented in the README.

Errors stop the server from starting with a broken configuration; ``--deploy`` warnings name the
docs/SECURITY.md item a weak setting undermines.
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import urlsplit

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from oauth_provider.conf import SUPPORTED_SIGNING_ALGORITHMS, oauth_settings
from oauth_provider.jwk_sets import allowed_assertion_algorithms
from oauth_provider.scopes import SCOPE_TOKEN

# W003's bound, also the bound of a client's own access_token_lifetime (W010).
ACCESS_TOKEN_LIFETIME_BOUND = 3600


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
    bad_scopes = [name for name in oauth_settings.SCOPES if not SCOPE_TOKEN.fullmatch(name)]
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
                 "CLIENT_ASSERTION_MAX_LIFETIME", "CLIENT_JWKS_MIN_REFETCH_SECONDS", "CLIENT_JWKS_TIMEOUT",
                 "PASSWORD_GRANT_FAILURE_WINDOW", "CLIENT_AUTH_FAILURE_WINDOW", "UNAUTHENTICATED_CREATIONS_WINDOW")
    for name in lifetimes:
        value = getattr(oauth_settings, name)
        if not isinstance(value, int) or value <= 0:
            errors.append(
                checks.Error(f"OAUTH_PROVIDER['{name}'] must be a positive number of seconds.",
                             id="oauth_provider.E007")
            )
    errors.extend(_registration_errors())
    errors.extend(_dpop_errors())
    try:
        allowed_assertion_algorithms()
    except ImproperlyConfigured as exc:
        errors.append(checks.Error(str(exc), id="oauth_provider.E015"))
    errors.extend(_rate_limit_errors())
    return errors


def _dpop_errors() -> list[checks.CheckMessage]:
    """DPoP proofs (RFC 9449): known asymmetric algorithms, positive windows."""
    from oauth_provider.dpop import SUPPORTED_ALGORITHMS

    problems = []
    algorithms = oauth_settings.DPOP_SIGNING_ALGORITHMS
    if isinstance(algorithms, str) or not algorithms or any(a not in SUPPORTED_ALGORITHMS for a in algorithms):
        problems.append(f"DPOP_SIGNING_ALGORITHMS must be a non-empty list from {', '.join(SUPPORTED_ALGORITHMS)}")
    for name in ("DPOP_PROOF_MAX_AGE", "DPOP_NONCE_LIFETIME"):
        value = getattr(oauth_settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append(f"{name} must be a positive number of seconds")
    skew = oauth_settings.DPOP_CLOCK_SKEW
    if isinstance(skew, bool) or not isinstance(skew, int) or skew < 0:
        problems.append("DPOP_CLOCK_SKEW must be zero or a positive number of seconds")
    if not problems:
        return []
    return [checks.Error("OAUTH_PROVIDER: " + "; ".join(problems) + ".", id="oauth_provider.E020")]


def _rate_limit_errors() -> list[checks.CheckMessage]:
    """Limits are None or positive counts; NUM_PROXIES a count of proxies (E009)."""
    problems = [f"{name} must be None or a positive integer" for name in RATE_LIMITS
                if not _positive_or_none(getattr(oauth_settings, name))]
    hops = oauth_settings.NUM_PROXIES
    if not isinstance(hops, int) or isinstance(hops, bool) or hops < 0:
        problems.append("NUM_PROXIES must be 0 or the number of trusted proxies in front of the server")
    if not problems:
        return []
    return [checks.Error("OAUTH_PROVIDER: " + "; ".join(problems) + ".", id="oauth_provider.E009")]


def _positive_or_none(value) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0)


# The limits of docs/SECURITY.md S27; None disables one.
RATE_LIMITS = ("CLIENT_AUTH_MAX_FAILURES", "CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS", "PASSWORD_GRANT_MAX_FAILURES",
               "PASSWORD_GRANT_MAX_FAILURES_PER_ADDRESS", "DEVICE_USER_CODE_MAX_FAILURES",
               "DEVICE_USER_CODE_MAX_FAILURES_PER_ADDRESS", "PUBLIC_DEVICE_AUTHORIZATIONS_PER_ADDRESS",
               "OPEN_REGISTRATIONS_PER_ADDRESS")


def server_processes(environ=None) -> int:
    """How many server processes this environment asks for, as far as it says: uWSGI's process
    count when running inside it, ``WEB_CONCURRENCY`` (gunicorn's and most platforms' worker count),
    or ``-w``/``--workers`` in ``GUNICORN_CMD_ARGS``; 1 when nothing says more."""
    environ = os.environ if environ is None else environ
    counts = [1]
    uwsgi = sys.modules.get("uwsgi")
    if uwsgi is not None:
        counts.append(int(getattr(uwsgi, "numproc", 1) or 1))
    concurrency = environ.get("WEB_CONCURRENCY", "").strip()
    if concurrency.isdigit():
        counts.append(int(concurrency))
    workers = re.search(r"(?:^|\s)(?:-w\s*|--workers(?:=|\s+))(\d+)(?=\s|\Z)", environ.get("GUNICORN_CMD_ARGS", ""))
    if workers:
        counts.append(int(workers.group(1)))
    return max(counts)


@checks.register("oauth_provider")
def check_rate_limit_cache(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """W010: the limits are on, but their counters live in a per-process cache of a multi-process
    server, so each process counts alone. W011: DRF's throttles on the OAuth endpoints identify
    clients by another NUM_PROXIES than this app (DRF's default, None, trusts any X-Forwarded-For)."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache
    from rest_framework.settings import api_settings

    warnings: list[checks.CheckMessage] = []
    limits_on = [name for name in RATE_LIMITS if getattr(oauth_settings, name) is not None]
    processes = server_processes()
    alias = oauth_settings.RATE_LIMIT_CACHE
    try:
        local = isinstance(caches[alias], LocMemCache)
    except Exception:  # an unknown alias is reported by the first request that uses it
        local = False
    if limits_on and local and processes > 1:
        warnings.append(
            checks.Warning(
                f"Rate limits count in the per-process cache {alias!r} (LocMemCache) of a server with "
                f"{processes} processes: each process counts alone, so every limit is {processes} times higher.",
                hint="Point OAUTH_PROVIDER['RATE_LIMIT_CACHE'] at a cache all processes share (Redis or "
                     "Memcached) (docs/SECURITY.md S27).",
                id="oauth_provider.W016",
            )
        )
    throttles = oauth_settings.THROTTLE_CLASSES
    if throttles is None:
        throttles = api_settings.DEFAULT_THROTTLE_CLASSES
    if throttles and api_settings.NUM_PROXIES != oauth_settings.NUM_PROXIES:
        warnings.append(
            checks.Warning(
                f"DRF throttles the OAuth endpoints with REST_FRAMEWORK['NUM_PROXIES'] = {api_settings.NUM_PROXIES!r}, "
                f"but OAUTH_PROVIDER['NUM_PROXIES'] is {oauth_settings.NUM_PROXIES!r}.",
                hint="Set both to the number of trusted proxies in front of the server; DRF's None trusts "
                     "every X-Forwarded-For entry, which any client can forge.",
                id="oauth_provider.W017",
            )
        )
    return warnings


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
    lifetime = oauth_settings.ACCESS_TOKEN_LIFETIME
    if isinstance(lifetime, int) and lifetime > ACCESS_TOKEN_LIFETIME_BOUND:
        warnings.append(
            checks.Warning(
                f"Access tokens live {lifetime} seconds, longer than an hour.",
                hint=f"Keep ACCESS_TOKEN_LIFETIME at {ACCESS_TOKEN_LIFETIME_BOUND} seconds or less (the default, 600, "
                     "is better) and use refresh tokens (docs/SECURITY.md S10).",
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
        from oauth_provider.clients.metadata import registrable_grants, registrable_scopes

        warnings.append(
            checks.Warning(
                "Dynamic client registration is open: anyone can create clients, with the grants "
                f"{', '.join(registrable_grants()) or '(none)'} and the scopes "
                f"{' '.join(registrable_scopes()) or '(none)'}.",
                hint="Use REGISTRATION_MODE 'initial_access_token' unless open registration is intended, and keep "
                     "REGISTRATION_SCOPES to what an anonymous client may have (docs/SECURITY.md S4).",
                id="oauth_provider.W008",
            )
        )
    disabled = [name for name in ("CLIENT_AUTH_MAX_FAILURES", "CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS")
                if getattr(oauth_settings, name) is None]
    if disabled:
        warnings.append(
            checks.Warning(
                f"Failed client authentications are not limited: {', '.join(disabled)} is None.",
                hint="Set a limit so that guessing client secrets is bounded (docs/SECURITY.md S23, S27).",
                id="oauth_provider.W009",
            )
        )
    warnings.extend(_dpop_replay_cache_warnings())
    if oauth_settings.SECTOR_IDENTIFIER_ALLOW_LOOPBACK:
        warnings.append(
            checks.Warning(
                "SECTOR_IDENTIFIER_ALLOW_LOOPBACK is on: registration may make this server fetch http://127.0.0.1.",
                hint="It is for tests against a live server only; remove it in production.",
                id="oauth_provider.W013",
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


def _dpop_replay_cache_warnings() -> list[checks.CheckMessage]:
    """The DPoP replay cache (RFC 9449 §11.1) must remember jtis: a dummy cache accepts every replay.

    Whether a real cache may evict early (an LRU Redis, a culling LocMemCache shared with the
    rate-limit counters) cannot be read from the settings; the README's DPoP section says what to use.
    """
    from django.conf import settings

    alias = oauth_settings.DPOP_REPLAY_CACHE
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    if alias in settings.CACHES and backend != "django.core.cache.backends.dummy.DummyCache":
        return []
    return [
        checks.Warning(
            f"DPOP_REPLAY_CACHE {alias!r} is not a cache that remembers: replayed DPoP proofs would be accepted.",
            hint="Point DPOP_REPLAY_CACHE at a cache every process shares and that does not evict before "
                 "expiry (e.g. a Redis database of its own with maxmemory-policy noeviction).",
            id="oauth_provider.W020",
        )
    ]


# Per-client opt-ins that weaken the defaults: check id, test on the client's row, wording, hint.
_WEAK_CLIENT_OPTIONS = (
    (
        "oauth_provider.W005",
        lambda row: row["allow_plain_pkce"],
        "allow the plain PKCE method",
        "plain PKCE gives no protection when the challenge leaks; use S256 (docs/SECURITY.md S5).",
    ),
    (
        "oauth_provider.W006",
        lambda row: "implicit" in (row["grant_types"] or []),
        "are allowed the implicit grant",
        "The implicit grant puts tokens in URLs; use the authorization code flow with PKCE "
        "(docs/SECURITY.md S9).",
    ),
    (
        "oauth_provider.W007",
        lambda row: "password" in (row["grant_types"] or []),
        "are allowed the password grant",
        "The password grant shows user passwords to clients; use the authorization code flow "
        "(docs/SECURITY.md S9).",
    ),
    (
        "oauth_provider.W010",
        lambda row: (row["access_token_lifetime"] or 0) > ACCESS_TOKEN_LIFETIME_BOUND,
        f"have an access_token_lifetime above {ACCESS_TOKEN_LIFETIME_BOUND} seconds",
        f"Keep each client's access_token_lifetime at {ACCESS_TOKEN_LIFETIME_BOUND} seconds or less, or empty for "
        "the server default (docs/SECURITY.md S10).",
    ),
    (
        "oauth_provider.W011",
        lambda row: row["skip_consent"] and row["client_type"] == "public",
        "are public clients marked skip_consent",
        "A public client cannot be told from an impostor, so the consent page is shown anyway; untick "
        "'Skip consent' (docs/SECURITY.md S29).",
    ),
    (
        "oauth_provider.W012",
        lambda row: not row["require_pkce"] and "authorization_code" in (row["grant_types"] or []),
        "do not require PKCE",
        "Without PKCE a stolen authorization code can be redeemed; tick 'Require PKCE' (docs/SECURITY.md S5).",
    ),
)
_CLIENT_FIELDS = ("client_id", "client_type", "allow_plain_pkce", "grant_types", "access_token_lifetime",
                  "skip_consent", "require_pkce", "subject_type")


@checks.register("oauth_provider", deploy=True)
def check_weak_clients(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Active clients that opted in to a weaker behaviour, named by client id (reads the database; skipped
    if it cannot)."""
    from oauth_provider.models import Application

    try:
        clients = list(Application.objects.filter(is_active=True).values(*_CLIENT_FIELDS))
    except DatabaseError:
        return []  # no database or no tables yet (before migrate): nothing to report
    warnings: list[checks.CheckMessage] = []
    if not oauth_settings.PAIRWISE_SUBJECT_SECRET and any(row["subject_type"] == "pairwise" for row in clients):
        warnings.append(checks.Warning(
            "Pairwise subjects are derived from SECRET_KEY: rotating it changes every pairwise sub.",
            hint="Set OAUTH_PROVIDER['PAIRWISE_SUBJECT_SECRET'] to a secret of its own, once "
                 "(OpenID Connect Core §8.1).",
            id="oauth_provider.W014",
        ))
    for check_id, weak, wording, hint in _WEAK_CLIENT_OPTIONS:
        names = sorted(row["client_id"] for row in clients if weak(row))
        if names:
            shown = ", ".join(repr(name) for name in names[:5]) + (", ..." if len(names) > 5 else "")
            warnings.append(
                checks.Warning(f"{len(names)} active client(s) {wording}: {shown}.", hint=hint, id=check_id)
            )
    return warnings
