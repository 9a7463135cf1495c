"""A device without a browser, for the example site: the device authorization grant (RFC 8628).

    python example_project/device_client.py [--base-url http://127.0.0.1:8000] [--client-id demo-device]

It asks the server for a device code, shows the verification URL and the user code (and a QR code
when the small pure-Python ``qrcode`` package happens to be installed), polls the token endpoint at
the interval the server asked for (slower after each ``slow_down``), and prints the access token's
claims once a user approves, then calls the example site's API (``/api/me``) with the token. It
stops on denial, and at the latest when the code expires.

Standard library only, so it runs anywhere Python does; the functions are importable, and the
sleep and clock are parameters, so tests drive the real polling logic without waiting.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, TextIO

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5
HTTP_TIMEOUT = 10


class DeviceFlowError(Exception):
    """The server ended the flow (access_denied, expired_token, ...) or could not be reached."""

    def __init__(self, error: str, description: str = "") -> None:
        self.error = error
        self.description = description
        super().__init__(f"{error}: {description}" if description else error)


def _json_request(request: urllib.request.Request) -> tuple[int, dict[str, Any]]:
    if urllib.parse.urlsplit(request.full_url).scheme not in ("http", "https"):
        raise DeviceFlowError("invalid_url", f"Not an http(s) URL: {request.full_url}")
    try:
        # The scheme was checked just above: no file: or custom-scheme URLs are opened.
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            try:
                return exc.code, json.load(exc)
            except ValueError:
                return exc.code, {"error": "http_error", "error_description": f"HTTP {exc.code}"}
    except (urllib.error.URLError, OSError) as exc:
        raise DeviceFlowError("unreachable", str(exc)) from exc


def post_form(url: str, data: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST an application/x-www-form-urlencoded body; (status, JSON body), errors included."""
    request = urllib.request.Request(  # noqa: S310 - _json_request allows only http(s)
        url,
        data=urllib.parse.urlencode(data).encode("ascii"),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        method="POST",
    )
    return _json_request(request)


def discover(base_url: str) -> dict[str, Any]:
    """The server metadata (RFC 8414), which names the device authorization and token endpoints."""
    request = urllib.request.Request(  # noqa: S310 - _json_request allows only http(s)
        f"{base_url}/.well-known/oauth-authorization-server", headers={"Accept": "application/json"}
    )
    status, metadata = _json_request(request)
    if status != 200 or "device_authorization_endpoint" not in metadata:
        raise DeviceFlowError("unsupported", "The server does not advertise a device authorization endpoint.")
    return metadata


def request_device_code(endpoint: str, client_id: str, scope: str = "") -> dict[str, Any]:
    """RFC 8628 §3.1: ask for a device code and a user code."""
    data = {"client_id": client_id}
    if scope:
        data["scope"] = scope
    status, body = post_form(endpoint, data)
    if status != 200:
        raise DeviceFlowError(body.get("error", "error"), body.get("error_description", ""))
    return body


def poll_for_token(
    token_endpoint: str,
    client_id: str,
    device_code: str,
    *,
    interval: int,
    expires_in: int,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    report: Callable[[str], None] = print,
) -> dict[str, Any]:
    """RFC 8628 §3.4-3.5: poll until the user decides, honouring the interval and ``slow_down``.

    Returns the token response; raises DeviceFlowError on denial, expiry or any other error. Never
    polls past ``expires_in``.
    """
    deadline = clock() + expires_in
    while True:
        if clock() + interval >= deadline:
            raise DeviceFlowError("expired_token", "The code expired before anyone approved it.")
        sleep(interval)
        status, body = post_form(
            token_endpoint, {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id}
        )
        if status == 200:
            return body
        error = body.get("error", "error")
        if error == "authorization_pending":
            report(f"  waiting for approval ({int(deadline - clock())} s left)")
        elif error == "slow_down":
            interval += SLOW_DOWN_STEP
            report(f"  the server asked to slow down: polling every {interval} s")
        else:
            raise DeviceFlowError(error, body.get("error_description", ""))


def unverified_claims(jwt: str) -> dict[str, Any]:
    """The payload of a JWT, decoded for display only (the resource server verifies the signature)."""
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def call_api(api_url: str, access_token: str) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - _json_request allows only http(s)
        api_url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    )
    return _json_request(request)


def _print_qr_code(uri: str, out: TextIO) -> None:
    """A QR code of ``uri`` in the terminal, only if the pure-Python ``qrcode`` package is installed."""
    try:
        import qrcode
    except ImportError:
        return
    code = qrcode.QRCode(border=1)
    code.add_data(uri)
    code.print_ascii(out=out, invert=True)


def run(
    base_url: str,
    client_id: str,
    scope: str = "",
    api_url: str = "",
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    out: TextIO = sys.stdout,
) -> int:
    """The whole device flow; 0 when a token was obtained, 1 otherwise."""

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    try:
        metadata = discover(base_url)
        grant = request_device_code(metadata["device_authorization_endpoint"], client_id, scope)
        say(f"On a phone or computer, open  {grant['verification_uri']}")
        say(f"and enter the code            {grant['user_code']}")
        say(f"(or open {grant['verification_uri_complete']})")
        _print_qr_code(grant["verification_uri_complete"], out)
        say(f"Waiting for approval; the code expires in {grant['expires_in']} s.")
        token = poll_for_token(
            metadata["token_endpoint"],
            client_id,
            grant["device_code"],
            interval=int(grant.get("interval", 5)),
            expires_in=int(grant["expires_in"]),
            sleep=sleep,
            clock=clock,
            report=say,
        )
    except DeviceFlowError as exc:
        say(f"Stopped: {exc}")
        return 1
    say("Approved. Access token claims (decoded, not verified here):")
    say(json.dumps(unverified_claims(token["access_token"]), indent=2, sort_keys=True))
    say(f"scope: {token.get('scope', '')}; expires in {token['expires_in']} s; "
        f"refresh token: {'yes' if 'refresh_token' in token else 'no'}")
    if api_url:
        status, body = call_api(api_url, token["access_token"])
        say(f"GET {api_url} -> {status}")
        say(json.dumps(body, indent=2, sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sign a device in with the device authorization grant.")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the issuer (default: %(default)s)")
    parser.add_argument("--client-id", default="demo-device", help="a public client allowed the device grant")
    parser.add_argument("--scope", default="", help="space-separated scopes (default: the client's default)")
    parser.add_argument("--api-url", help="a protected API to call with the token (default: BASE_URL/api/me; "
                                          "'' to call none)")
    args = parser.parse_args(argv)
    base_url = args.base_url.rstrip("/")
    api_url = f"{base_url}/api/me" if args.api_url is None else args.api_url
    return run(base_url, args.client_id, args.scope, api_url)


if __name__ == "__main__":
    sys.exit(main())
