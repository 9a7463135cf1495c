"""`make demo`'s entry point: migrate, seed and serve the example site on one address.

The issuer of the example site is derived from the address it serves on, so the home page, the
demo redirect URIs, the metadata and the device ``verification_uri`` all point where the server
actually listens::

    python scripts/demo.py 127.0.0.1:8200      # issuer http://127.0.0.1:8200

An ``OAUTH_ISSUER`` set in the environment wins (a proxy in front, another host name); the script
then says that it does not match the address. Standard library only: it runs before anything else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADDR = "127.0.0.1:8000"
# Addresses that mean "every interface": the browser still reaches the server on the loopback.
WILDCARD_HOSTS = {"0.0.0.0", "::", "[::]", ""}  # noqa: S104 (only used to recognise them)


def split_addr(addr: str) -> tuple[str, str]:
    """``host:port`` (or a bare port, as runserver accepts) → ``(host, port)``."""
    addr = addr.strip()
    if addr.isdigit():
        return "127.0.0.1", addr
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"DEMO_ADDR must be host:port or a port, not {addr!r}")
    return host, port


def issuer_for(addr: str) -> str:
    """The issuer a demo served on ``addr`` must use: ``http://<addr>``."""
    host, port = split_addr(addr)
    if host in WILDCARD_HOSTS:
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def demo_environment(addr: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the three commands: the issuer (unless set) and the host allowed."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("OAUTH_ISSUER", issuer_for(addr))
    host, _ = split_addr(addr)
    if host not in WILDCARD_HOSTS and "ALLOWED_HOSTS" not in env:
        hosts = ["127.0.0.1", "localhost", "[::1]"]
        env["ALLOWED_HOSTS"] = ",".join(hosts if host in hosts else [*hosts, host])
    return env


def main(argv: list[str]) -> int:
    addr = argv[1] if len(argv) > 1 else os.environ.get("DEMO_ADDR", DEFAULT_ADDR)
    env = demo_environment(addr)
    expected = issuer_for(addr)
    if env["OAUTH_ISSUER"].rstrip("/") != expected:
        print(f"note: OAUTH_ISSUER={env['OAUTH_ISSUER']} from the environment, although the demo serves on "
              f"{expected}; links and redirects will use OAUTH_ISSUER.", file=sys.stderr)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([*manage, *command], env=env, check=True, cwd=ROOT)  # noqa: S603
    print(f"Serving the example site on {env['OAUTH_ISSUER']}/ (issuer {env['OAUTH_ISSUER']}; Ctrl-C to stop)",
          flush=True)
    try:
        return subprocess.call([*manage, "runserver", addr], env=env, cwd=ROOT)  # noqa: S603
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
