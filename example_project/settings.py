"""Settings of the example site, read from the environment (and an optional .env file).

Defaults give a working demo on an embedded SQLite database at http://127.0.0.1:8000;
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/test`` switches it to PostgreSQL.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))

# Published with the source: fine on 127.0.0.1, never elsewhere (example_project/checks.py says so).
DEMO_SECRET_KEY = "demo-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env("SECRET_KEY", default=DEMO_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth_provider",
    "example_project",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the pages from the browser's Accept-Language (English and French are shipped).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.oauth: the verified bearer token of each request (or None); see oauth_provider.resource.
    "oauth_provider.resource.middleware.OAuthTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if not DEBUG:
    # Production: keep each worker's database connection (README "Deployment"). Opening a PostgreSQL
    # connection per request costs more than most requests; the health check replaces a connection the
    # server closed (restart, failover, idle timeout) before a request uses it, instead of failing it.
    # Not in DEBUG: the development server's thread per request would only pile connections up.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# DPoP proof jtis (RFC 9449 §11.1) in a cache of their own, shared by every process and never evicting
# early (e.g. redis://127.0.0.1:6379/3 with maxmemory-policy noeviction); unset: the default cache.
if env("DPOP_CACHE_URL", default=""):
    CACHES["dpop"] = env.cache("DPOP_CACHE_URL")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("fr", "Français")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

X_FRAME_OPTIONS = "DENY"
# Not "no-referrer": browsers then send "Origin: null" with form posts, and the CSRF check refuses the login.
SECURE_REFERRER_POLICY = "same-origin"

OAUTH_PROVIDER = {
    "ISSUER": env("OAUTH_ISSUER", default="http://127.0.0.1:8000"),
    "SIGNING_ALGORITHM": env("OAUTH_SIGNING_ALGORITHM", default="RS256"),
    "KEY_ENCRYPTION_KEYS": env.list("OAUTH_KEY_ENCRYPTION_KEYS", default=[]),
    "SCOPES": {
        "read": "Read your profile and notes",
        "write": "Create and change your notes",
        "notes:delete": "Delete your notes",
    },
    "DEFAULT_SCOPES": ["read"],
    "REGISTRATION_MODE": env("OAUTH_REGISTRATION_MODE", default="closed"),
    # Reverse proxies in front that append to X-Forwarded-For: rate limits and the audit trail then
    # count the client's address, not the proxy's.
    "NUM_PROXIES": env.int("OAUTH_NUM_PROXIES", default=0),
    # How fast a key rotated by another process is picked up (signing here, verifying in the API).
    "SIGNING_KEY_CACHE_SECONDS": env.int("OAUTH_SIGNING_KEY_CACHE_SECONDS", default=60),
    "RESOURCE_JWKS_MIN_REFETCH_SECONDS": env.int("OAUTH_RESOURCE_JWKS_MIN_REFETCH_SECONDS", default=30),
    # Unset: the default (on; the API refuses tokens revoked by any process within 2 seconds).
    "RESOURCE_CHECK_REVOCATION": env.bool("OAUTH_RESOURCE_CHECK_REVOCATION", default=None),
    "DPOP_REPLAY_CACHE": "dpop" if "dpop" in CACHES else "default",
    # RFC 9449 §8, §9: server nonces in DPoP proofs, at the token endpoint and at the demo API.
    "DPOP_NONCE_REQUIRED": env.bool("OAUTH_DPOP_NONCE_REQUIRED", default=False),
    "RESOURCE_DPOP_NONCE_REQUIRED": env.bool("OAUTH_RESOURCE_DPOP_NONCE_REQUIRED", default=False),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"oauth_provider": {"handlers": ["console"], "level": env("OAUTH_LOG_LEVEL", default="WARNING")}},
}
