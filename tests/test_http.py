"""Bad input of any shape (missing, repeated, oversized, wrongly encoded) gets a 4xx and writes nothing."""

import base64

import pytest

from oauth_provider.models import AccessToken, AuthorizationCode, Consent, RefreshToken
from tests.helpers.flows import FORM, authorize_url, basic_auth, query_of

pytestmark = pytest.mark.django_db


def counts():
    return [model.objects.count() for model in (AccessToken, RefreshToken, AuthorizationCode, Consent)]


@pytest.mark.security("S25")
@pytest.mark.parametrize("body", [
    "grant_type=client_credentials&grant_type=client_credentials",  # repeated
    "grant_type=client_credentials&scope=" + "a" * 5000,  # oversized
    "grant_type=client_credentials&scope=%00%FF%C3%28",  # NUL and invalid UTF-8
    "grant_type=%",  # broken percent-encoding
    "",  # missing
])
def test_malformed_token_request_bodies_get_a_4xx_and_write_nothing(client, application, body):
    before = counts()
    response = client.post("/oauth/token/", body, content_type=FORM,
                           HTTP_AUTHORIZATION=basic_auth(application.client_id, application.secret))
    assert 400 <= response.status_code < 500
    assert response.json()["error"] in ("invalid_request", "invalid_scope", "unsupported_grant_type")
    assert counts() == before


@pytest.mark.security("S25")
def test_a_wrong_content_type_or_method_gets_a_4xx(client):
    wrong_type = client.post("/oauth/token/", '{"grant_type": "client_credentials"}', content_type="application/json")
    wrong_method = client.get("/oauth/token/")
    assert (wrong_type.status_code, wrong_type.json()["error"]) == (400, "invalid_request")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "invalid_request")


@pytest.mark.security("S25")
def test_bad_authorize_input_gets_an_error_and_writes_nothing(user_client, web_app):
    before = counts()
    repeated = user_client.get(authorize_url(web_app) + "&scope=write")
    assert "error=invalid_request" in repeated["Location"] or repeated.status_code == 400
    garbage = user_client.get("/oauth/authorize/?client_id=%FF%00&redirect_uri=%")
    assert garbage.status_code == 400
    assert counts() == before
    assert query_of(repeated.get("Location", "?x=1"))


@pytest.mark.security("S25")
@pytest.mark.parametrize("body, authorization", [
    ("grant_type=client_credentials&client_id=a%00b", None),
    ("grant_type=client_credentials", "Basic " + base64.b64encode(b"a\x00b:secret").decode()),
    ("grant_type=client_credentials", "Basic " + base64.b64encode(b"a%00b:secret").decode()),
])
def test_nul_characters_in_client_credentials_get_a_4xx_on_every_database(client, body, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.post("/oauth/token/", body, content_type=FORM, **extra)
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("invalid_request", "invalid_client")


@pytest.mark.security("S25")
def test_an_unreadable_consent_form_gets_the_400_error_page(user_client, web_app):
    response = user_client.generic("POST", authorize_url(web_app), b"decision=allow",
                                   content_type="application/x-www-form-urlencoded; charset=latin-1")
    assert response.status_code == 400
    assert AuthorizationCode.objects.count() == 0


@pytest.mark.security("S25")
def test_a_broken_multipart_consent_form_gets_the_400_error_page(user_client, web_app):
    response = user_client.generic("POST", authorize_url(web_app), b"\x00", content_type="multipart/form-data")
    assert response.status_code == 400


# --- the client's address behind trusted proxies (docs/SECURITY.md S27) ------------------------------


@pytest.mark.parametrize(("hops", "forwarded", "expected"), [
    (0, "", "10.0.0.254"),
    (0, "198.51.100.7", "10.0.0.254"),  # no trusted proxy: a header any client can send is ignored
    (1, "", "10.0.0.254"),  # configured for a proxy, but the request did not come through one
    (1, "198.51.100.7", "198.51.100.7"),
    (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # what the client prepended is never read
    (2, "6.6.6.6, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
    (3, "198.51.100.7, 10.0.0.2", "198.51.100.7"),  # shorter than NUM_PROXIES: its leftmost (DRF's rule)
    (1, "198.51.100.7:4711", "198.51.100.7"),
    (1, "[2001:db8::1]:4711", "2001:db8::1"),
    (1, " 2001:DB8:0::1 ", "2001:db8::1"),
    (1, "unknown", "10.0.0.254"),  # not an address: the proxy's
    (1, "198.51.100.7, ", "10.0.0.254"),
])
def test_the_client_address_is_read_behind_num_proxies(settings, hops, forwarded, expected):
    from django.test import RequestFactory

    from oauth_provider.http import RequestContext

    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "NUM_PROXIES": hops}
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.254", **extra)
    assert RequestContext.from_request(request).ip_address == expected
