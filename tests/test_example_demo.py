"""The example site's demo web client: start → login → consent → callback with verified claims."""


import pytest

from example_project import demo
from tests.helpers.example import local
from tests.helpers.flows import query_of

pytestmark = pytest.mark.django_db




def test_home_links_the_demo_flow(client, seeded):
    assert b'href="/demo/start/"' in client.get("/").content


def test_demo_web_flow_ends_with_token_claims(client, seeded):
    alice = next(u for u in demo.USERS if u.username == "alice")
    assert client.login(username=alice.username, password=alice.password)
    start = client.get("/demo/start/")
    authorize = local(start["Location"])
    consent = client.get(authorize)
    assert consent.status_code == 200
    decision = client.post(authorize, {"decision": "allow"})
    callback = decision["Location"]
    assert query_of(callback)["iss"] == demo.base_url()
    page = client.get(local(callback))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Tokens received" in body
    assert "demo-web" in body


def test_callback_with_wrong_state_exchanges_nothing(client, seeded):
    page = client.get("/demo/callback/?code=x&state=forged&iss=" + demo.base_url())
    assert "did not complete" in page.content.decode()


def test_demo_web_callback_shows_header_and_claims_as_json(client, seeded):
    import html
    import json
    import re

    alice = next(u for u in demo.USERS if u.username == "alice")
    client.login(username=alice.username, password=alice.password)
    authorize = local(client.get("/demo/start/")["Location"])
    callback = client.post(authorize, {"decision": "allow"})["Location"]
    body = client.get(local(callback)).content.decode()

    def shown_json(element_id: str) -> dict:
        shown = re.search(rf'<pre class="json" id="{element_id}"[^>]*>(.+?)</pre>', body, re.S)[1]
        return json.loads(html.unescape(shown))

    header, claims = shown_json("token-header"), shown_json("token-claims")
    assert header["typ"] == "at+jwt"
    assert claims["client_id"] == "demo-web"


def test_spa_page_is_served_with_a_strict_content_security_policy(client, seeded):
    response = client.get("/demo/spa/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'"
    assert b"<script>" not in response.content
    assert b'src="/static/example_project/spa.js"' in response.content


def test_spa_page_carries_its_client_configuration(client, seeded):
    body = client.get("/demo/spa/").content.decode()
    assert 'data-client-id="demo-spa"' in body
    assert f'data-redirect-uri="{demo.base_url()}/demo/spa/"' in body
    assert f'data-metadata-url="{demo.base_url()}/.well-known/oauth-authorization-server"' in body


def test_seed_registers_the_site_origin_for_the_spa_only(seeded):
    from oauth_provider.models import Application

    assert Application.objects.get(client_id="demo-spa").origin_list == ["http://127.0.0.1:8000"]
    assert Application.objects.exclude(client_id="demo-spa").filter(allowed_origins__gt="").count() == 0


def test_spa_redirect_uri_is_registered_exactly(seeded):
    from example_project.spa import redirect_uri
    from oauth_provider.models import Application

    assert Application.objects.get(client_id="demo-spa").redirect_uri_list == [redirect_uri()]
