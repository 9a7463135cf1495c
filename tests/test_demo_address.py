"""`make demo DEMO_ADDR=…` serves on that address and the issuer follows it (scripts/demo.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import demo as demo_script  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, data: bytes | None = None):
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, data=data, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_issuer_is_derived_from_the_address():
    assert demo_script.issuer_for("127.0.0.1:8200") == "http://127.0.0.1:8200"
    assert demo_script.issuer_for("8300") == "http://127.0.0.1:8300"
    assert demo_script.issuer_for("0.0.0.0:8400") == "http://127.0.0.1:8400"


def test_an_explicit_oauth_issuer_wins_and_another_host_is_allowed():
    env = demo_script.demo_environment("192.0.2.7:8200", {"OAUTH_ISSUER": "https://auth.example.com"})
    assert env["OAUTH_ISSUER"] == "https://auth.example.com"
    assert "192.0.2.7" in env["ALLOWED_HOSTS"].split(",")


def make_plan(*arguments: str) -> str:
    """What ``make -n -B`` would run, with the Makefile's own defaults: the variables of a make that runs this
    suite (CI's ``make test VENV=... REQUIREMENTS=...``, passed down in MAKEFLAGS) must not leak in."""
    inherited = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "VENV", "PYTHON", "REQUIREMENTS",
                 "DEMO_REQUIREMENTS", "DEMO_ADDR"}
    env = {name: value for name, value in os.environ.items() if name not in inherited}
    return subprocess.run(["make", "-n", "-B", *arguments], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True).stdout


def test_make_demo_runs_the_entry_point_with_the_address_and_installs_only_the_runtime():
    plan = make_plan("demo", "DEMO_ADDR=127.0.0.1:8299")
    assert "scripts/demo.py 127.0.0.1:8299" in plan
    assert "-r requirements/base.txt" in plan
    assert "dev.txt" not in plan and "testing.txt" not in plan


def test_make_test_still_installs_everything():
    plan = make_plan("install")
    assert "-r requirements/dev.txt" in plan
    dev = (ROOT / "requirements" / "dev.txt").read_text()
    assert "-r base.txt" in dev and "-r testing.txt" in dev


def test_demo_requirements_leave_out_the_test_toolchain():
    base = (ROOT / "requirements" / "base.txt").read_text() + (ROOT / "requirements" / "libs.txt").read_text()
    for tool in ("playwright", "hypothesis", "ruff", "Authlib", "pytest"):
        assert tool.lower() not in base.lower()


@pytest.mark.timeout(120)
def test_demo_on_another_port_points_everything_at_that_port(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("OAUTH_ISSUER", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    log = (tmp_path / "demo.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                status, _, body = fetch(f"{base}/.well-known/oauth-authorization-server")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (tmp_path / "demo.log").read_text()
                assert time.monotonic() < deadline, "the demo did not start"
                time.sleep(0.5)
        assert status == 200
        metadata = json.loads(body)
        assert metadata["issuer"] == base
        assert metadata["token_endpoint"] == f"{base}/oauth/token/"

        _, _, home = fetch(f"{base}/")
        assert f"127.0.0.1:{port}" in home
        assert "127.0.0.1:8000" not in home

        status, headers, _ = fetch(f"{base}/demo/start/")
        assert status == 302
        location = headers["Location"]
        assert location.startswith(f"{base}/oauth/authorize/")
        redirect_uri = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["redirect_uri"][0]
        assert redirect_uri == f"{base}/demo/callback/"

        status, _, body = fetch(f"{base}/oauth/device/", data=b"client_id=demo-device&scope=read")
        assert status == 200
        assert json.loads(body)["verification_uri"] == f"{base}/oauth/device/verify/"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
