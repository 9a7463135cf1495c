"""private_key_jwt at every endpoint, pushed requests at the authorization endpoint, and resource
indicators from the authorization request to the access token's aud (RFC 7523, RFC 9126, RFC 8707)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from django.test import Client, override_settings
from django.utils import timezone

from oauth_provider.models import AccessToken, AuditEvent, DeviceCode, PushedAuthorizationRequest, RefreshToken
from tests.factories import ApplicationFactory, UserFactory, WebApplicationFactory
from tests.helpers.assertions import (
    ISSUER,
    PAR_URL,
    TOKEN_URL,
    assertion_params,
    client_assertion,
    client_key,
    private_key_jwt_client,
)
from tests.helpers.flows import FORM, STATE, VERIFIER, authorize_params, post_as, query_of
from tests.helpers.jwt import oauth_settings_with

pytestmark = pytest.mark.django_db
A = "https://a.api.example/"
B = "https://b.api.example/"


@pytest.fixture
def app():
    return private_key_jwt_client()


@pytest.fixture
def servers():
    ApplicationFactory(is_resource_server=True, resource_audiences=A, resource_scopes="read")
    ApplicationFactory(is_resource_server=True, resource_audiences=B, resource_scopes="write")


@pytest.fixture
def browser(client):
    client.force_login(UserFactory())
    return client


def post_with_assertion(client, path, app, data, *, aud=TOKEN_URL, **claims):
    fields = {**data, **assertion_params(client_assertion(app, aud=aud, **claims))}
    return client.post(path, data=urlencode(fields, doseq=True), content_type=FORM)


def claims_of(response) -> dict:
    assert response.status_code == 200, response.content
    return jwt.decode(response.json()["access_token"], options={"verify_signature": False})


# --- private_key_jwt at every endpoint ---------------------------------------------------------


def test_a_private_key_jwt_client_gets_a_token(client, app):
    response = post_with_assertion(client, "/oauth/token/", app, {"grant_type": "client_credentials"})
    assert claims_of(response)["client_id"] == app.client_id


def test_the_body_may_also_name_the_client(client, app):
    data = {"grant_type": "client_credentials", "client_id": app.client_id}
    assert post_with_assertion(client, "/oauth/token/", app, data).status_code == 200


def test_a_replayed_assertion_is_invalid_client_with_the_rfc_body(client, app):
    assertion = client_assertion(app)
    data = {"grant_type": "client_credentials", **assertion_params(assertion)}
    assert client.post("/oauth/token/", data=urlencode(data), content_type=FORM).status_code == 200
    replay = client.post("/oauth/token/", data=urlencode(data), content_type=FORM)
    assert replay.status_code == 401
    assert replay.json() == {"error": "invalid_client", "error_description": "Client authentication failed."}
    assert replay["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(event="client_auth_failed")
    assert event.details["reason"] == "replayed_jti" and event.details["method"] == "private_key_jwt"
    assert assertion not in str(event.details)


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://evil.example/"},
        {"exp": 1, "iat": 0},
        {"exp": 4_000_000_000},
        {"sub": "other"},
        {"iss": "other"},
        {"jti": None},
    ],
)
def test_a_bad_assertion_is_401_invalid_client(client, app, claims):
    response = post_with_assertion(client, "/oauth/token/", app, {"grant_type": "client_credentials"}, **claims)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" not in response


def test_an_assertion_signed_by_an_unregistered_key_is_refused(client, app):
    stranger = client_key("RSA", index=1, kid="rsa-0")
    fields = {"grant_type": "client_credentials", **assertion_params(client_assertion(app, key=stranger))}
    response = client.post("/oauth/token/", data=urlencode(fields), content_type=FORM)
    assert response.status_code == 401


def test_alg_none_and_hs256_assertions_are_refused(client, app):
    from tests.helpers.assertions import assertion_claims
    from tests.helpers.jwt import unsigned

    none = unsigned({"alg": "none"}, assertion_claims(app.client_id))
    public = client_key()[1]
    mac = jwt.encode(assertion_claims(app.client_id), str(public).encode() * 2, algorithm="HS256",
                     headers={"kid": public["kid"]})
    for assertion in (none, mac):
        fields = {"grant_type": "client_credentials", **assertion_params(assertion)}
        assert client.post("/oauth/token/", data=urlencode(fields), content_type=FORM).status_code == 401


def test_a_key_client_cannot_use_a_secret_and_a_secret_client_cannot_use_an_assertion(client, app):
    response = client.post("/oauth/token/", data=urlencode({"grant_type": "client_credentials",
                                                            "client_id": app.client_id, "client_secret": "x" * 43}),
                           content_type=FORM)
    assert response.status_code == 401
    secret_client = ApplicationFactory()
    response = post_with_assertion(client, "/oauth/token/", secret_client, {"grant_type": "client_credentials"})
    assert response.status_code == 401
    reasons = set(AuditEvent.objects.filter(event="client_auth_failed").values_list("details__reason", flat=True))
    assert reasons == {"private_key_jwt_required", "private_key_jwt_not_registered"}


def test_two_methods_at_once_are_invalid_request(client, app):
    secret_client = ApplicationFactory()
    fields = {"grant_type": "client_credentials", **assertion_params(client_assertion(app))}
    response = post_as(client, "/oauth/token/", secret_client, fields)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_the_assertion_type_must_be_jwt_bearer(client, app):
    fields = {"grant_type": "client_credentials", "client_assertion": client_assertion(app)}
    assert client.post("/oauth/token/", data=urlencode(fields), content_type=FORM).status_code == 400
    fields["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    assert client.post("/oauth/token/", data=urlencode(fields), content_type=FORM).status_code == 401


def test_the_assertion_must_stay_out_of_the_url(client, app):
    assertion = client_assertion(app)
    response = client.post(f"/oauth/token/?client_assertion={assertion}", data="grant_type=client_credentials",
                           content_type=FORM)
    assert response.status_code == 400


def test_revocation_and_introspection_accept_private_key_jwt(client, app):
    token = post_with_assertion(client, "/oauth/token/", app, {"grant_type": "client_credentials"}).json()
    introspected = post_with_assertion(client, "/oauth/introspect/", app, {"token": token["access_token"]},
                                       aud="http://testserver/oauth/introspect/")
    assert introspected.status_code == 200 and introspected.json()["active"] is True
    revoked = post_with_assertion(client, "/oauth/revoke/", app, {"token": token["access_token"]}, aud=ISSUER)
    assert revoked.status_code == 200
    assert AccessToken.objects.get().revoked_at is not None


def test_the_device_endpoint_accepts_private_key_jwt(client):
    app = private_key_jwt_client(grant_types=["urn:ietf:params:oauth:grant-type:device_code"], redirect_uris="")
    response = post_with_assertion(client, "/oauth/device/", app, {"scope": "read"},
                                   aud="http://testserver/oauth/device/")
    assert response.status_code == 200 and "device_code" in response.json()


def test_an_assertion_for_one_endpoint_is_not_accepted_at_another(client, app):
    response = post_with_assertion(client, "/oauth/token/", app, {"grant_type": "client_credentials"},
                                   aud="http://testserver/oauth/introspect/")
    assert response.status_code == 401


# --- pushed requests at the authorization endpoint ---------------------------------------------


def push(client, app, **overrides) -> str:
    params = authorize_params(app, **overrides)
    params.pop("client_id")
    response = post_with_assertion(client, "/oauth/par/", app, params, aud=PAR_URL)
    assert response.status_code == 201, response.content
    return response.json()["request_uri"]


def authorize(client, app, request_uri, method="get", **extra_query):
    query = urlencode({"client_id": app.client_id, "request_uri": request_uri, **extra_query})
    if method == "post":
        return client.post(f"/oauth/authorize/?{query}", {"decision": "allow"})
    return client.get(f"/oauth/authorize/?{query}")


def test_push_with_private_key_jwt_then_authorize_with_the_request_uri(client, browser, app, servers):
    request_uri = push(client, app, resource=A, scope="read write")
    assert authorize(browser, app, request_uri).status_code == 200  # the consent page
    decision = authorize(browser, app, request_uri, method="post")
    assert decision.status_code == 303
    answer = query_of(decision["Location"])
    assert answer["state"] == STATE and answer["iss"] == ISSUER
    redeemed = post_with_assertion(client, "/oauth/token/", app, {
        "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": app.redirect_uri_list[0],
        "code_verifier": VERIFIER, "resource": A,
    })
    claims = claims_of(redeemed)
    assert claims["aud"] == A and claims["scope"] == "read"  # write is only B's
    assert redeemed.json()["scope"] == "read"


@pytest.mark.security("S34")
def test_a_used_request_uri_is_refused_without_a_redirect(client, browser, app):
    request_uri = push(client, app)
    assert authorize(browser, app, request_uri, method="post").status_code == 303
    again = authorize(browser, app, request_uri)
    assert again.status_code == 400 and "Location" not in again
    assert "invalid_request_uri" in again.content.decode()


def test_another_browser_cannot_use_a_claimed_request_uri(client, browser, app):
    request_uri = push(client, app)
    assert authorize(browser, app, request_uri).status_code == 200
    other = Client()
    other.force_login(UserFactory())
    response = authorize(other, app, request_uri)
    assert response.status_code == 400 and "Location" not in response


@pytest.mark.security("S34")
def test_another_clients_request_uri_is_refused(client, browser, app):
    request_uri = push(client, app)
    other = WebApplicationFactory()
    response = authorize(browser, other, request_uri)
    assert response.status_code == 400 and "Location" not in response
    assert PushedAuthorizationRequest.objects.get().claimed_at is None


def test_an_expired_request_uri_is_refused(client, browser, app):
    request_uri = push(client, app)
    PushedAuthorizationRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = authorize(browser, app, request_uri)
    assert response.status_code == 400 and "Location" not in response


@pytest.mark.parametrize("request_uri", ["urn:ietf:params:oauth:request_uri:unknown", "https://evil.example/req"])
def test_unknown_or_foreign_request_uris_are_refused(browser, app, request_uri):
    response = authorize(browser, app, request_uri)
    assert response.status_code == 400 and "Location" not in response


def test_parameters_outside_the_pushed_request_are_ignored(client, browser, app):
    request_uri = push(client, app, scope="read")
    decision = authorize(browser, app, request_uri, method="post", scope="write",
                         redirect_uri="https://evil.example/cb", state="forged")
    location = decision["Location"]
    assert location.startswith(app.redirect_uri_list[0]) and query_of(location)["state"] == STATE
    from oauth_provider.models import AuthorizationCode

    assert AuthorizationCode.objects.get().scope == "read"


def test_the_login_redirect_keeps_the_claim(client, app):
    request_uri = push(client, app)
    anonymous = Client()
    assert authorize(anonymous, app, request_uri).status_code == 302  # to the login page
    anonymous.force_login(UserFactory())
    assert authorize(anonymous, app, request_uri).status_code == 200


def test_a_denial_uses_the_request_up_too(client, browser, app):
    request_uri = push(client, app)
    query = urlencode({"client_id": app.client_id, "request_uri": request_uri})
    denied = browser.post(f"/oauth/authorize/?{query}", {"decision": "deny"})
    assert query_of(denied["Location"])["error"] == "access_denied"
    assert authorize(browser, app, request_uri).status_code == 400


def test_a_client_that_requires_par_is_refused_a_direct_request(browser):
    app = WebApplicationFactory(require_pushed_authorization_requests=True)
    response = browser.get("/oauth/authorize/?" + urlencode(authorize_params(app)))
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_the_server_setting_requires_par_for_every_client(client, browser, web_app):
    with override_settings(OAUTH_PROVIDER=oauth_settings_with(REQUIRE_PUSHED_AUTHORIZATION_REQUESTS=True)):
        direct = browser.get("/oauth/authorize/?" + urlencode(authorize_params(web_app)))
        assert query_of(direct["Location"])["error"] == "invalid_request"
        params = authorize_params(web_app)
        params.pop("client_id")
        pushed = post_as(client, "/oauth/par/", web_app, params).json()["request_uri"]
        assert authorize(browser, web_app, pushed).status_code == 200
        metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["require_pushed_authorization_requests"] is True


def test_metadata_advertises_what_works(client):
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["pushed_authorization_request_endpoint"] == "http://testserver/oauth/par/"
    assert document["require_pushed_authorization_requests"] is False
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert "client_secret_jwt" not in document["token_endpoint_auth_methods_supported"]
    assert document["token_endpoint_auth_signing_alg_values_supported"] == ["RS256", "PS256", "ES256", "EdDSA"]
    assert "private_key_jwt" in document["revocation_endpoint_auth_methods_supported"]
    assert "private_key_jwt" in document["introspection_endpoint_auth_methods_supported"]
    for name in ("token", "revocation", "introspection"):
        assert not {"none", "HS256"} & set(document[f"{name}_endpoint_auth_signing_alg_values_supported"])


# --- resource indicators ---------------------------------------------------------------------


def code_for(browser, app, **overrides) -> str:
    response = browser.post("/oauth/authorize/?" + urlencode(authorize_params(app, **overrides), doseq=True),
                            {"decision": "allow"})
    assert response.status_code == 303, response.content
    return query_of(response["Location"])["code"]


def redeem_code(client, app, code, **extra):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri_list[0],
            "code_verifier": VERIFIER, **extra}
    return post_as(client, "/oauth/token/", app, data)


@pytest.mark.security("S37")
def test_one_resource_at_authorize_is_the_tokens_aud(client, browser, web_app, servers):
    code = code_for(browser, web_app, resource=A)
    claims = claims_of(redeem_code(client, web_app, code))
    assert claims["aud"] == A and claims["scope"] == "read"
    assert AccessToken.objects.get().audience == A


def test_several_resources_one_per_token_and_refresh_may_pick_another(client, browser, web_app, servers):
    code = code_for(browser, web_app, resource=[A, B], scope="read write")
    ambiguous = redeem_code(client, web_app, code)
    assert ambiguous.status_code == 400 and ambiguous.json()["error"] == "invalid_target"
    code = code_for(browser, web_app, resource=[A, B], scope="read write")
    first = redeem_code(client, web_app, code, resource=B)
    assert claims_of(first)["aud"] == B and claims_of(first)["scope"] == "write"
    refreshed = post_as(client, "/oauth/token/", web_app, {"grant_type": "refresh_token",
                                                            "refresh_token": first.json()["refresh_token"],
                                                            "resource": A})
    assert claims_of(refreshed)["aud"] == A and claims_of(refreshed)["scope"] == "read"
    assert RefreshToken.objects.filter(revoked_at__isnull=True, used_at__isnull=True).get().resources == [A, B]


@pytest.mark.security("S37")
def test_a_refresh_cannot_widen_to_a_resource_outside_the_grant(client, browser, web_app, servers):
    code = code_for(browser, web_app, resource=A)
    refresh_token = redeem_code(client, web_app, code).json()["refresh_token"]
    wider = post_as(client, "/oauth/token/", web_app, {"grant_type": "refresh_token",
                                                        "refresh_token": refresh_token, "resource": B})
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_target"
    # Nothing was spent by the refused request: the refresh token still works.
    same = post_as(client, "/oauth/token/", web_app, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    assert claims_of(same)["aud"] == A


def test_a_grant_without_resource_cannot_be_redeemed_for_one(client, browser, web_app, servers):
    code = code_for(browser, web_app)
    response = redeem_code(client, web_app, code, resource=A)
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


@pytest.mark.parametrize("resource", ["https://unknown.example/", "relative/path", "https://a.api.example/#frag"])
def test_an_unknown_or_malformed_resource_at_authorize_is_invalid_target_at_the_redirect_uri(
    browser, web_app, servers, resource
):
    response = browser.get("/oauth/authorize/?" + urlencode(authorize_params(web_app, resource=resource)))
    assert response.status_code == 302
    answer = query_of(response["Location"])
    assert answer["error"] == "invalid_target" and answer["state"] == STATE


@pytest.mark.parametrize("resource", ["https://unknown.example/", "urn:x#y"])
def test_an_unknown_resource_at_the_token_endpoint_is_invalid_target(client, servers, resource):
    service = ApplicationFactory()
    response = post_as(client, "/oauth/token/", service, {"grant_type": "client_credentials", "resource": resource})
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_client_credentials_for_a_resource(client, servers):
    service = ApplicationFactory(allowed_scopes="read write")
    response = post_as(client, "/oauth/token/", service, {"grant_type": "client_credentials",
                                                          "scope": "read write", "resource": B})
    assert claims_of(response)["aud"] == B and response.json()["scope"] == "write"


def test_a_pushed_request_carries_its_resources(client, browser, app, servers):
    request_uri = push(client, app, resource=[A, B], scope="read write")
    code = query_of(authorize(browser, app, request_uri, method="post")["Location"])["code"]
    from oauth_provider.models import AuthorizationCode

    assert AuthorizationCode.objects.get().resources == [A, B]
    del code


def test_an_unknown_resource_is_refused_at_push_time(client, app, servers):
    params = authorize_params(app, resource="https://unknown.example/")
    params.pop("client_id")
    response = post_with_assertion(client, "/oauth/par/", app, params, aud=PAR_URL)
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_the_device_grant_carries_its_resource(client, servers):
    from tests.factories import DeviceApplicationFactory
    from tests.helpers.device import decide, enter, poll

    device = DeviceApplicationFactory()
    grant = post_as(client, "/oauth/device/", device, {"scope": "read", "resource": A}).json()
    assert DeviceCode.objects.get().resources == [A]
    browser = Client()
    browser.force_login(UserFactory())
    enter(browser, grant["user_code"])
    decide(browser, grant["user_code"])
    assert claims_of(poll(client, device, grant["device_code"]))["aud"] == A


def test_introspection_by_a_resource_server_sees_only_its_audience(client, servers):
    server_a = ApplicationFactory(is_resource_server=True, resource_audiences=A)
    service = ApplicationFactory(allowed_scopes="read write")
    for_a = post_as(client, "/oauth/token/", service, {"grant_type": "client_credentials", "resource": A}).json()
    for_b = post_as(client, "/oauth/token/", service, {"grant_type": "client_credentials", "scope": "write",
                                                       "resource": B}).json()
    seen = post_as(client, "/oauth/introspect/", server_a, {"token": for_a["access_token"]}).json()
    assert seen["active"] is True and seen["aud"] == A
    assert post_as(client, "/oauth/introspect/", server_a, {"token": for_b["access_token"]}).json() == {
        "active": False
    }
