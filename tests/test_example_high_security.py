"""The "Done when" scenario on the example site's seeded data: demo-bank authenticates with
private_key_jwt, pushes its request for one resource, and gets a token whose aud is that resource."""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode

import jwt
import pytest
from django.core.management import call_command
from django.test import override_settings

from example_project import demo
from example_project import high_security_client as script
from example_project import settings as example_settings
from oauth_provider.crypto import pkce_s256
from tests.helpers.flows import FORM, VERIFIER, query_of


@pytest.mark.django_db
def test_demo_bank_pushes_authorizes_and_gets_a_token_for_the_notes_api(client, seeded):
    base = demo.base_url()
    resource = f"{base}/api/notes/"
    redirect_uri = "http://127.0.0.1:53682/callback"  # loopback: any port (RFC 8252 §7.3)
    fields = script.authenticated(base, [
        ("response_type", "code"), ("redirect_uri", redirect_uri), ("scope", "read"), ("state", "s"),
        ("code_challenge", pkce_s256(VERIFIER)), ("code_challenge_method", "S256"), ("resource", resource),
    ])
    pushed = client.post("/oauth/par/", data=urlencode(fields), content_type=FORM)
    assert pushed.status_code == 201, pushed.content
    alice = next(u for u in demo.USERS if u.username == "alice")
    assert client.login(username=alice.username, password=alice.password)
    url = "/oauth/authorize/?" + urlencode({"client_id": script.CLIENT_ID, "request_uri": pushed.json()["request_uri"]})
    decision = client.post(url, {"decision": "allow"})
    assert decision.status_code == 303
    code = query_of(decision["Location"])["code"]
    redeemed = client.post("/oauth/token/", data=urlencode(script.authenticated(base, [
        ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri),
        ("code_verifier", VERIFIER), ("resource", resource),
    ])), content_type=FORM)
    assert redeemed.status_code == 200, redeemed.content
    claims = jwt.decode(redeemed.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == resource and claims["client_id"] == "demo-bank" and claims["scope"] == "read"


@pytest.mark.django_db
def test_demo_bank_cannot_skip_the_push(client, seeded):
    client.login(username="alice", password="alice-demo-password")
    response = client.get("/oauth/authorize/?" + urlencode({
        "client_id": "demo-bank", "response_type": "code", "redirect_uri": "http://127.0.0.1/callback",
        "scope": "read", "code_challenge": pkce_s256(VERIFIER), "code_challenge_method": "S256"}))
    assert query_of(response["Location"])["error"] == "invalid_request"


@pytest.mark.django_db(transaction=True)
def test_the_script_gets_a_client_credentials_token_for_the_resource(live_server, capsys):
    base = live_server.url.replace("localhost", "127.0.0.1")  # the demo's loopback redirect URIs are IP literals
    with override_settings(OAUTH_PROVIDER={**example_settings.OAUTH_PROVIDER, "ISSUER": base,
                                           "KEY_ENCRYPTION_KEYS": ["test"]}):
        call_command("seed_demo", stdout=io.StringIO())
        assert script.main(["--base-url", base, "--client-credentials"]) == 0
    claims = json.loads(capsys.readouterr().out)
    assert claims["aud"] == f"{base}/api/notes/" and claims["sub"] == "demo-bank"
