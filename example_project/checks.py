"""System checks of the example site: its demo defaults are safe on a loopback address only.

The defaults (``DEBUG=True`` and a ``SECRET_KEY`` published with the source) make ``make demo`` work
out of the box on 127.0.0.1. Served on any other host they are dangerous: DEBUG pages show settings
and tracebacks, and the published SECRET_KEY forges sessions and, without KEY_ENCRYPTION_KEYS
(``oauth_provider.W002``), decrypts the signing keys. So both are reported, on every ``check`` and
``runserver``, as soon as ALLOWED_HOSTS names a host that is not loopback.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core import checks

LOOPBACK_NAMES = {"localhost", ".localhost"}


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposed_hosts() -> list[str]:
    """The ALLOWED_HOSTS that are not loopback (``*`` and a leading-dot domain included)."""
    return [host for host in settings.ALLOWED_HOSTS if not is_loopback(host)]


@checks.register("example_project")
def check_demo_defaults(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    hosts = exposed_hosts()
    if not hosts:
        return []
    shown = ", ".join(hosts)
    found = []
    if settings.DEBUG:
        found.append(checks.Warning(
            f"The example site runs with DEBUG=True on a host that is not loopback ({shown}).",
            hint="Set DEBUG=False in the environment (or .env) whenever the site is reachable from other machines.",
            id="example_project.W001",
        ))
    from example_project.settings import DEMO_SECRET_KEY

    if settings.SECRET_KEY == DEMO_SECRET_KEY:
        found.append(checks.Warning(
            f"The example site uses the published demo SECRET_KEY on a host that is not loopback ({shown}).",
            hint="Set SECRET_KEY to a long random value of your own; with it anyone can forge sessions and, "
                 "without KEY_ENCRYPTION_KEYS (oauth_provider.W002), decrypt the signing keys.",
            id="example_project.W002",
        ))
    return found
