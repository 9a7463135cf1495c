"""Settings of the benchmarked server: the example site's, as a production deployment would run it.

DEBUG off, persistent database connections, no debug toolbar or query logging; the only addition
is ``bench.urls`` (the example site's URLs plus the two floor views the ratios are measured against).
The orchestrator (``bench/run.py``) sets ``DATABASE_URL`` and ``OAUTH_ISSUER`` in the environment.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oauth_bench")
os.environ["DEBUG"] = "false"

from example_project.settings import *  # noqa: F403
from example_project.settings import DATABASES, OAUTH_PROVIDER

DEBUG = False
# "testserver": the orchestrator counts SQL queries per request in process, with Django's test client.
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.urls"

# Persistent connections with health checks come from the example's production settings (DEBUG off).
if not (DATABASES["default"].get("CONN_MAX_AGE") and DATABASES["default"].get("CONN_HEALTH_CHECKS")):
    raise RuntimeError("the benchmark measures the example's production settings: persistent connections")

OAUTH_PROVIDER = {
    **OAUTH_PROVIDER,
    # A fixed encryption key (the example's default derives one from SECRET_KEY, which a deploy check warns about).
    "KEY_ENCRYPTION_KEYS": [os.environ.get("OAUTH_KEY_ENCRYPTION_KEYS", "bench-key-encryption-secret-0123456789")],
    # The rate limits keep their defaults: they count failed authentications only, so one client sending
    # thousands of successful requests a second from one address is never refused, and the counting
    # (in flight before the secret is checked, settled after) stays on the measured path.
    # Case 4 is measured with the revocation check on (the protected path's cost includes it).
    "RESOURCE_CHECK_REVOCATION": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
