"""A newcomer copies "Add it to your project" from the README into a new project: it works.

The README is parsed with a real Markdown parser (markdown-it-py); the code blocks of that section
are written into a project made by ``django-admin startproject``, the shell commands of the section
are run, and then an authorization-code flow with PKCE runs through login, consent and the token
endpoint. Nothing is added that the README does not say.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

FLOW = r"""
import base64, hashlib, json, os, secrets
from urllib.parse import parse_qs, urlencode, urlsplit
from django.contrib.auth import get_user_model
from django.test import Client

credentials = json.loads(os.environ["CLIENT_JSON"])
get_user_model().objects.create_user("newcomer", password="newcomer-password-1")
browser = Client(HTTP_HOST="localhost")
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
redirect_uri = credentials["redirect_uris"][0]
authorize = "/oauth/authorize/?" + urlencode({
    "response_type": "code", "client_id": credentials["client_id"], "redirect_uri": redirect_uri,
    "scope": "read", "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"})
to_login = browser.get(authorize)
assert to_login.status_code == 302 and to_login["Location"].startswith("/accounts/login/"), to_login
login_page = browser.get(to_login["Location"])
assert login_page.status_code == 200, login_page.status_code
signed_in = browser.post("/accounts/login/", {"username": "newcomer", "password": "newcomer-password-1",
                                              "next": authorize})
assert signed_in.status_code == 302 and signed_in["Location"] == authorize, signed_in
consent = browser.get(authorize)
assert consent.status_code == 200 and b"Allow" in consent.content, consent.status_code
decided = browser.post(authorize, {"decision": "allow"})
assert decided.status_code == 303, decided.status_code
query = parse_qs(urlsplit(decided["Location"]).query)
assert decided["Location"].startswith(redirect_uri) and query["state"] == ["s1"], decided["Location"]
basic = base64.b64encode(f"{credentials['client_id']}:{credentials['client_secret']}".encode()).decode()
token = browser.post("/oauth/token/", urlencode({
    "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": redirect_uri,
    "code_verifier": verifier}), content_type="application/x-www-form-urlencoded",
    HTTP_AUTHORIZATION="Basic " + basic)
assert token.status_code == 200, token.content
body = token.json()
assert body["token_type"] == "Bearer" and body["access_token"] and body["refresh_token"], body
print("FLOW-OK")
"""


def section(title: str) -> list:
    """The tokens of one ``##`` section of the README."""
    tokens = MarkdownIt("commonmark").parse(README)
    inside, found = False, []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            inside = tokens[index + 1].content == title
            continue
        if inside:
            found.append(token)
    assert found, f"no README section {title!r}"
    return found


def fences(title: str) -> list[tuple[str, str]]:
    return [(token.info.strip(), token.content) for token in section(title) if token.type == "fence"]


def shell_commands(script: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.split("  #")[0].strip() for line in joined.splitlines() if line.strip().startswith("python ")]


@pytest.mark.timeout(180)
def test_the_readme_setup_gives_a_working_authorization_code_flow(tmp_path):
    blocks = fences("Add it to your project")
    settings_code = next(code for info, code in blocks if info == "python" and code.startswith("# settings.py"))
    urls_code = next(code for info, code in blocks if info == "python" and code.startswith("# urls.py"))
    login_html = next(code for info, code in blocks if info == "html" and "registration/login.html" in code)
    commands = shell_commands(next(code for info, code in blocks if info == "sh" and "manage.py migrate" in code))

    project = tmp_path / "newproject"
    project.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env["PYTHONPATH"] = str(ROOT)  # the app, as `pip install -e` would make it importable
    env["OAUTH_KEY_SECRET"] = "a-newcomer-key-encryption-secret-0123456789"
    run = {"cwd": project, "env": env, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite", "."], check=True, **run)
    with (project / "mysite" / "settings.py").open("a") as settings_file:
        settings_file.write("\n" + settings_code)
    (project / "mysite" / "urls.py").write_text(urls_code)
    (project / "templates" / "registration").mkdir(parents=True)
    (project / "templates" / "registration" / "login.html").write_text(login_html)

    names = [shlex.split(command)[2] for command in commands]
    assert names == ["migrate", "createsuperuser", "oauth_create_client"]
    created = None
    for command in commands:
        argv = shlex.split(command)
        if argv[2] == "createsuperuser":  # interactive; the flow below creates its own user
            continue
        done = subprocess.run([sys.executable, *argv[1:]], **run)
        assert done.returncode == 0, done.stdout + done.stderr
        if argv[2] == "oauth_create_client":
            created = done.stdout

    env["CLIENT_JSON"] = created
    flow = subprocess.run([sys.executable, "manage.py", "shell", "-c", FLOW], **run)
    assert "FLOW-OK" in flow.stdout, flow.stdout + flow.stderr
    assert json.loads(created)["client_secret"]
