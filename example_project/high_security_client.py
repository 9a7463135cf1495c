"""A high-security client for the example site: private_key_jwt (RFC 7523), a pushed authorization
request (RFC 9126) and one resource indicator (RFC 8707).

    python example_project/high_security_client.py [--base-url http://127.0.0.1:8000] [--client-credentials]

The seeded client ``demo-bank`` has no secret: it signs a short-lived client assertion (ES256) with the
demo key in ``example_project/demo.py`` at every request. The script pushes its authorization request
(with PKCE and ``resource=<site>/api/notes/``) to the PAR endpoint, prints the authorization URL (only
``client_id`` and ``request_uri``), waits on a loopback port for the redirect after you sign in and
approve (as alice), exchanges the code, and prints the access token's claims: its ``aud`` is the
resource. ``--client-credentials`` skips the browser: a client-credentials token for the resource.

Needs only PyJWT and cryptography (the server's own dependencies) besides the standard library.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import jwt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from example_project.demo import DEMO_BANK_KID, demo_bank_private_key

CLIENT_ID = "demo-bank"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
HTTP_TIMEOUT = 10
CALLBACK_WAIT_SECONDS = 300


def client_assertion(audience: str, client_id: str = CLIENT_ID) -> str:
    """RFC 7523 §3: iss = sub = client_id, aud = the server, a minute of life, a fresh jti."""
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 60,
              "jti": secrets.token_urlsafe(16)}
    return jwt.encode(claims, demo_bank_private_key(), algorithm="ES256", headers={"kid": DEMO_BANK_KID})


def post_form(url: str, fields: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"Not an http(s) URL: {url}")
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 (checked above)
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


def authenticated(base: str, fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("client_assertion_type", CLIENT_ASSERTION_TYPE), ("client_assertion", client_assertion(base)), *fields]


def push(base: str, redirect_uri: str, resource: str, challenge: str, state: str) -> dict[str, Any]:
    status, body = post_form(f"{base}/oauth/par/", authenticated(base, [
        ("response_type", "code"), ("redirect_uri", redirect_uri), ("scope", "read"), ("state", state),
        ("code_challenge", challenge), ("code_challenge_method", "S256"), ("resource", resource),
    ]))
    if status != 201:
        raise SystemExit(f"PAR refused ({status}): {body}")
    return body


def redeem(base: str, code: str, redirect_uri: str, verifier: str, resource: str) -> dict[str, Any]:
    status, body = post_form(f"{base}/oauth/token/", authenticated(base, [
        ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri),
        ("code_verifier", verifier), ("resource", resource),
    ]))
    if status != 200:
        raise SystemExit(f"token request refused ({status}): {body}")
    return body


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a JWT, for display only (the resource server verifies it)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def wait_for_callback(server: http.server.HTTPServer, timeout: float) -> dict[str, str]:
    """Serve the loopback redirect once (RFC 8252 §7.3) and return its query parameters."""
    received: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.update(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"Done: you can close this window and go back to the terminal.")

        def log_message(self, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    server.timeout = timeout
    server.handle_request()
    return received


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-credentials", action="store_true", help="no browser: a client-credentials token")
    args = parser.parse_args(argv)
    base = args.base_url.rstrip("/")
    resource = f"{base}/api/notes/"
    if args.client_credentials:
        status, body = post_form(f"{base}/oauth/token/", authenticated(base, [
            ("grant_type", "client_credentials"), ("scope", "read"), ("resource", resource)]))
        print(json.dumps(claims_of(body["access_token"]) if status == 200 else body, indent=2))
        return 0 if status == 200 else 1
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    pushed = push(base, redirect_uri, resource, challenge, state)
    query = urllib.parse.urlencode({"client_id": CLIENT_ID, "request_uri": pushed["request_uri"]})
    print(f"Pushed; the request_uri expires in {pushed['expires_in']} s. Open this URL and approve (as alice):")
    print(f"  {base}/oauth/authorize/?{query}")
    result: dict[str, str] = {}
    waiter = threading.Thread(target=lambda: result.update(wait_for_callback(server, CALLBACK_WAIT_SECONDS)))
    waiter.start()
    waiter.join()
    server.server_close()
    if result.get("state") != state or "code" not in result:
        print(f"The authorization did not complete: {result or 'no answer'}")
        return 1
    tokens = redeem(base, result["code"], redirect_uri, verifier, resource)
    print(json.dumps(claims_of(tokens["access_token"]), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
