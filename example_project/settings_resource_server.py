"""A separate resource server: it trusts the example site's tokens through its JWKS URL only.

It shares no database and no code path with the issuer; it fetches the public keys from
``RESOURCE_JWKS_URL`` and validates tokens locally. It cannot see the issuer's revocations: a revoked
token works here until it expires (README, "Resource servers in another project").
Run the issuer on :8000 (``make demo``), then::

    DJANGO_SETTINGS_MODULE=example_project.settings_resource_server python manage.py migrate
    DJANGO_SETTINGS_MODULE=example_project.settings_resource_server python manage.py runserver 127.0.0.1:8001
    curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8001/api/me
"""

from .settings import *  # noqa: F403
from .settings import BASE_DIR, env

ISSUER = env("OAUTH_ISSUER", default="http://127.0.0.1:8000")

ROOT_URLCONF = "example_project.resource_server_urls"

# Its own database: users named by tokens are unknown here, so /api/me shows the subject id only.
DATABASES = {
    "default": env.db("RESOURCE_DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'resource_server.sqlite3'}")
}

# No admin, sessions or login pages: this service only answers API calls with bearer tokens.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "oauth_provider",
    "example_project",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "oauth_provider.resource.middleware.OAuthTokenMiddleware",
]

OAUTH_PROVIDER = {
    # Tokens must name this issuer and this audience (the issuer's default audience is itself).
    "ISSUER": ISSUER,
    "RESOURCE_AUDIENCE": env("RESOURCE_AUDIENCE", default=ISSUER),
    # The only place keys come from; fetched on first use, cached per Cache-Control.
    "RESOURCE_JWKS_URL": env("RESOURCE_JWKS_URL", default=f"{ISSUER}/oauth/jwks/"),
}
