"""The example site's "Sign in with the demo provider" page (demo-rp): discovery, sign-in with a
nonce, the verified ID Token and UserInfo, RP-initiated logout; and the SPA asking for openid."""

import html
import json
import re

import pytest

from example_project import demo, oidc_demo
from oauth_provider.models import Application
from tests.helpers.example import local

pytestmark = pytest.mark.django_db
ALICE = next(u for u in demo.USERS if u.username == "alice")




def shown_json(body: str, element_id: str) -> dict:
    shown = re.search(rf'<pre class="json" id="{element_id}"[^>]*>(.+?)</pre>', body, re.S)[1]
    return json.loads(html.unescape(shown))


def sign_in(client):
    assert client.login(username=ALICE.username, password=ALICE.password)
    authorize = local(client.get("/demo/oidc/start/")["Location"])
    assert "nonce=" in authorize and "scope=openid+profile+email" in authorize
    assert client.get(authorize).status_code == 200  # the consent page
    callback = client.post(authorize, {"decision": "allow"})["Location"]
    landing = client.get(local(callback))
    assert landing.status_code == 302
    return client.get(landing["Location"]).content.decode()


def test_the_home_page_links_the_sign_in_page(client, seeded):
    assert b'href="/demo/oidc/"' in client.get("/").content
    assert b"Sign in with the demo provider" in client.get("/demo/oidc/").content


def test_sign_in_shows_the_verified_id_token_and_userinfo(client, seeded):
    body = sign_in(client)
    assert 'id="oidc-signed-in"' in body
    claims, info = shown_json(body, "id-token-claims"), shown_json(body, "userinfo")
    assert claims["aud"] == "demo-rp"
    assert claims["iss"] == demo.base_url()
    assert "nonce" in claims and "at_hash" in claims and "auth_time" in claims
    assert info["sub"] == claims["sub"]
    assert info["preferred_username"] == "alice"


def test_the_logout_button_ends_the_provider_session_and_comes_back(client, seeded):
    sign_in(client)
    to_provider = client.get("/demo/oidc/logout/")
    end_session = local(to_provider["Location"])
    assert end_session.startswith("/oauth/logout/?id_token_hint=")
    back = client.get(end_session)
    assert back.status_code == 302
    assert back["Location"] == oidc_demo.home_uri() + "?state=signed-out"
    assert "_auth_user_id" not in client.session
    assert b'id="oidc-signed-out"' in client.get(local(back["Location"])).content


def test_a_callback_with_a_forged_state_signs_nobody_in(client, seeded):
    body = client.get("/demo/oidc/callback/?code=x&state=forged&iss=" + demo.base_url()).content.decode()
    assert 'id="oidc-problem"' in body


def test_the_relying_party_refuses_an_id_token_with_another_nonce(client, seeded):
    assert client.login(username=ALICE.username, password=ALICE.password)
    authorize = local(client.get("/demo/oidc/start/")["Location"])
    flow = client.session[oidc_demo.FLOW_KEY]
    callback = client.post(authorize, {"decision": "allow"})["Location"]
    session = client.session
    session[oidc_demo.FLOW_KEY] = {**flow, "nonce": "not-the-one-sent"}
    session.save()
    body = client.get(local(callback)).content.decode()
    assert "nonce does not match" in body


def test_seed_registers_the_post_logout_redirect_uri_exactly(seeded):
    app = Application.objects.get(client_id="demo-rp")
    assert app.post_logout_redirect_uri_list == [oidc_demo.home_uri()]
    assert "openid" in app.allowed_scope_list


def test_the_spa_asks_for_openid(client, seeded):
    assert 'data-scope="openid read write"' in client.get("/demo/spa/").content.decode()
