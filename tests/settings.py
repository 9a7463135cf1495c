"""Test settings: the example site's, on the database named by DATABASE_URL (SQLite in memory by default)."""

import hashlib
import os

os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

from example_project.settings import *  # noqa: F403
from example_project.settings import BASE_DIR, DATABASES

# Each checkout gets its own PostgreSQL test database, so two checkouts can test at once.
DATABASES["default"].setdefault("TEST", {})
if "postgresql" in DATABASES["default"]["ENGINE"]:
    suffix = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8]
    DATABASES["default"]["TEST"]["NAME"] = f"test_oauth_provider_{suffix}"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DEBUG = False

OAUTH_PROVIDER = {
    "ISSUER": "http://testserver",
    "SCOPES": {"read": "Read your data", "write": "Change your data", "admin": "Administer everything"},
    "DEFAULT_SCOPES": ["read"],
    "KEY_ENCRYPTION_KEYS": ["test-key-encryption-secret"],
}
