"""Helpers for the resource-side tests: crafted tokens, a controllable clock, a local JWKS server."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from django.conf import settings

from oauth_provider.keys import store as keys

ISSUER = "http://testserver"


def claims(**overrides: Any) -> dict[str, Any]:
    """RFC 9068 claims of a client-credentials token; ``None`` values drop the claim."""
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "sub": "client-1",
        "aud": ISSUER,
        "client_id": "client-1",
        "iat": now,
        "exp": now + 600,
        "jti": secrets.token_hex(12),
        "scope": "read write",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


_ACTIVE = object()


def sign(payload: dict[str, Any], *, private_key: Any = None, kid: Any = _ACTIVE,
         algorithm: str | None = None, **header: Any) -> str:
    """Sign ``payload`` with the active key (or the one given); header members may be overridden,
    and ``None`` drops one (``kid=None``: no kid)."""
    if private_key is None:
        loaded = keys.get_signing_key()
        private_key, algorithm = loaded.private_key, algorithm or loaded.algorithm
        kid = loaded.kid if kid is _ACTIVE else kid
    headers = {"typ": "at+jwt", "kid": kid, **header}
    headers = {name: value for name, value in headers.items() if value is not None}
    return jwt.encode(payload, private_key, algorithm=algorithm, headers=headers)


def token(**overrides: Any) -> str:
    return sign(claims(**overrides))


def key_pair(algorithm: str = "RS256", state: str = "next") -> tuple[Any, Any]:
    """A new SigningKey row and its private key."""
    row = keys.create_signing_key(algorithm, state=state)
    return row, keys.decrypt_private_key(row.private_key_encrypted)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS built by hand (for alg none and other tokens PyJWT refuses to make)."""
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(payload).encode())
    return f"{head}.{body}.{b64(signature)}"


def oauth_settings_with(**resource: Any) -> dict[str, Any]:
    """The test OAUTH_PROVIDER setting plus ``resource`` keys, for override_settings."""
    return {**settings.OAUTH_PROVIDER, **resource}


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class JWKSServer:
    """A JWK Set served on 127.0.0.1; ``routes`` maps path -> (status, headers, body)."""

    url: str = ""
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def serve(self, path: str, document: Any, status: int = 200, **headers: str) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.routes[path] = (status, {"Content-Type": "application/json", **headers}, body)

    def publish(self, *rows: Any, path: str = "/jwks", cache_control: str | None = None) -> None:
        headers = {"Cache-Control": cache_control} if cache_control else {}
        self.serve(path, {"keys": [row.public_jwk for row in rows]}, **headers)

    @property
    def fetches(self) -> int:
        return len(self.requests)


def start_jwks_server() -> tuple[JWKSServer, ThreadingHTTPServer]:
    state = JWKSServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            status, headers, body = state.routes.get(self.path, (404, {}, b"{}"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    return state, server
