"""The token endpoint with the client_credentials grant (RFC 6749 §4.4, §5; RFC 9068)."""

import json

import jwt
import pytest
from django.core.exceptions import ValidationError

from oauth_provider.models import AccessToken, Application, AuditEvent, GrantType
from tests.factories import ApplicationFactory, PublicApplicationFactory
from tests.helpers.flows import basic_auth, token_request

TOKEN_URL = "/oauth/token/"
pytestmark = pytest.mark.django_db


def post_token(client, data, *, auth=None, content_type="application/x-www-form-urlencoded", url=TOKEN_URL):
    from urllib.parse import urlencode

    body = urlencode(data, doseq=True) if isinstance(data, (dict, list)) else data
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.post(url, body, content_type=content_type, **headers)


def verify_with_served_jwks(client, token: str) -> dict:
    """Verify a token as a resource server would: keys only from the published JWKS."""
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    jwks_path = metadata["jwks_uri"].removeprefix("http://testserver")
    jwk_set = jwt.PyJWKSet.from_dict(client.get(jwks_path).json())
    header = jwt.get_unverified_header(token)
    key = jwk_set[header["kid"]]
    return jwt.decode(token, key=key, algorithms=[header["alg"]], audience="http://testserver",
                      issuer="http://testserver")


# --- success --------------------------------------------------------------------------------------


def test_basic_auth_gets_a_jwt_that_verifies_against_the_served_jwks(client, application):
    response = post_token(client, {"grant_type": "client_credentials", "scope": "read"},
                          auth=basic_auth(application.client_id, application.secret))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "read"
    assert "refresh_token" not in body
    claims = verify_with_served_jwks(client, body["access_token"])
    assert claims["sub"] == application.client_id
    assert claims["client_id"] == application.client_id
    assert claims["scope"] == "read"
    assert claims["exp"] - claims["iat"] == 600
    assert set(claims) == {"iss", "sub", "aud", "client_id", "iat", "exp", "jti", "scope"}


def test_access_token_header_has_rfc9068_type_and_kid(client, application):
    body = post_token(client, {"grant_type": "client_credentials"},
                      auth=basic_auth(application.client_id, application.secret)).json()
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"]


def test_client_secret_post_is_accepted(client, application):
    response = post_token(client, {"grant_type": "client_credentials", "client_id": application.client_id,
                                   "client_secret": application.secret})
    assert response.status_code == 200


def test_token_response_is_not_cacheable_json(client, application):
    response = post_token(client, {"grant_type": "client_credentials"},
                          auth=basic_auth(application.client_id, application.secret))
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_token_is_recorded_by_jti_not_by_value(client, application):
    body = post_token(client, {"grant_type": "client_credentials"},
                      auth=basic_auth(application.client_id, application.secret)).json()
    jti = jwt.decode(body["access_token"], options={"verify_signature": False})["jti"]
    record = AccessToken.objects.get(jti=jti)
    assert record.application == application
    assert record.grant_type == "client_credentials"
    assert record.user is None
    assert record.scope == "read"
    assert body["access_token"] not in json.dumps(list(AccessToken.objects.values()), default=str)


def test_empty_scope_gets_the_clients_default_scope(client):
    application = ApplicationFactory(allowed_scopes="read write", default_scopes="write")
    body = post_token(client, {"grant_type": "client_credentials"},
                      auth=basic_auth(application.client_id, application.secret)).json()
    assert body["scope"] == "write"


def test_empty_scope_falls_back_to_server_default_within_allowed(client):
    application = ApplicationFactory(allowed_scopes="read write", default_scopes="")
    body = post_token(client, {"grant_type": "client_credentials"},
                      auth=basic_auth(application.client_id, application.secret)).json()
    assert body["scope"] == "read"


def test_several_allowed_scopes_can_be_requested(client, application):
    body = post_token(client, {"grant_type": "client_credentials", "scope": "write read"},
                      auth=basic_auth(application.client_id, application.secret)).json()
    assert body["scope"] == "write read"


def test_form_content_type_with_charset_is_accepted(client, application):
    response = post_token(client, {"grant_type": "client_credentials"},
                          auth=basic_auth(application.client_id, application.secret),
                          content_type="application/x-www-form-urlencoded; charset=UTF-8")
    assert response.status_code == 200


def test_unknown_parameters_are_ignored(client, application):
    response = post_token(client, {"grant_type": "client_credentials", "foo": "bar"},
                          auth=basic_auth(application.client_id, application.secret))
    assert response.status_code == 200


def test_basic_credentials_are_form_urldecoded(client):
    """RFC 6749 §2.3.1: client id and secret are application/x-www-form-urlencoded inside Basic."""
    application = ApplicationFactory(client_id="svc:with/odd chars+")
    response = post_token(client, {"grant_type": "client_credentials"},
                          auth=basic_auth(application.client_id, application.secret))
    assert response.status_code == 200, response.content


def test_token_issued_is_audited_without_the_token(client, application):
    body = post_token(client, {"grant_type": "client_credentials"},
                      auth=basic_auth(application.client_id, application.secret)).json()
    event = AuditEvent.objects.get(event="token_issued")
    assert event.application == application
    assert event.ip_address == "127.0.0.1"
    assert event.details["grant_type"] == "client_credentials"
    assert body["access_token"] not in json.dumps(event.details)
    assert application.secret not in json.dumps(event.details)


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
def test_other_signing_algorithms_verify_against_the_jwks(client, application, settings, algorithm):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "SIGNING_ALGORITHM": algorithm}
    body = post_token(client, {"grant_type": "client_credentials"},
                      auth=basic_auth(application.client_id, application.secret)).json()
    assert jwt.get_unverified_header(body["access_token"])["alg"] == algorithm
    assert verify_with_served_jwks(client, body["access_token"])["client_id"] == application.client_id


def test_client_access_token_lifetime_overrides_the_default(client):
    application = ApplicationFactory(access_token_lifetime=120)
    body = post_token(client, {"grant_type": "client_credentials"},
                      auth=basic_auth(application.client_id, application.secret)).json()
    assert body["expires_in"] == 120


def test_query_budget_for_client_credentials(client, application, django_assert_num_queries):
    auth = basic_auth(application.client_id, application.secret)
    post_token(client, {"grant_type": "client_credentials"}, auth=auth)  # warm the key cache
    # client look-up, access-token insert, audit insert
    with django_assert_num_queries(3):
        response = post_token(client, {"grant_type": "client_credentials"}, auth=auth)
    assert response.status_code == 200


# --- client authentication failures ---------------------------------------------------------------


def assert_error(response, status: int, error: str):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json()["error"] == error
    return response.json()


def test_wrong_secret_is_401_with_basic_challenge(client, application):
    response = post_token(client, {"grant_type": "client_credentials"},
                          auth=basic_auth(application.client_id, "x" * 43))
    assert_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].startswith("Basic ")


def test_wrong_secret_in_body_is_invalid_client(client, application):
    response = post_token(client, {"grant_type": "client_credentials", "client_id": application.client_id,
                                   "client_secret": "wrong"})
    assert_error(response, 401, "invalid_client")


def test_unknown_client_is_invalid_client(client, db):
    response = post_token(client, {"grant_type": "client_credentials"}, auth=basic_auth("nobody", "secret"))
    assert_error(response, 401, "invalid_client")


def test_inactive_client_is_invalid_client(client):
    application = ApplicationFactory(is_active=False)
    response = post_token(client, {"grant_type": "client_credentials"},
                          auth=basic_auth(application.client_id, application.secret))
    assert_error(response, 401, "invalid_client")


def test_confidential_client_without_secret_is_invalid_client(client, application):
    response = post_token(client, {"grant_type": "client_credentials", "client_id": application.client_id})
    assert_error(response, 401, "invalid_client")


def test_no_client_credentials_at_all_is_invalid_client(client, db):
    response = post_token(client, {"grant_type": "client_credentials"})
    assert_error(response, 401, "invalid_client")
    assert "WWW-Authenticate" in response


def test_failed_authentication_is_audited_without_the_secret(client, application):
    post_token(client, {"grant_type": "client_credentials"}, auth=basic_auth(application.client_id, "guess-123"))
    event = AuditEvent.objects.get(event="client_auth_failed")
    assert event.client_id == application.client_id
    assert event.details == {"reason": "wrong_secret", "method": "client_secret_basic"}
    assert "guess-123" not in json.dumps(event.details)


def test_failed_authentication_of_unknown_client_is_audited(client, db):
    post_token(client, {"grant_type": "client_credentials"}, auth=basic_auth("ghost", "guess"))
    event = AuditEvent.objects.get(event="client_auth_failed")
    assert event.client_id == "ghost"
    assert event.application is None
    assert event.details["reason"] == "unknown_client"


@pytest.mark.parametrize("header", ["Basic !!!notbase64", "Basic " + "bm9jb2xvbg==", "Bearer abc"])
def test_malformed_authorization_header_is_invalid_client(client, db, header):
    response = post_token(client, {"grant_type": "client_credentials"}, auth=header)
    assert_error(response, 401, "invalid_client")


def test_two_authentication_methods_at_once_are_refused(client, application):
    response = post_token(client, {"grant_type": "client_credentials", "client_secret": application.secret},
                          auth=basic_auth(application.client_id, application.secret))
    assert_error(response, 400, "invalid_request")


def test_secret_in_query_string_is_refused(client, application):
    response = post_token(client, {"grant_type": "client_credentials"},
                          auth=basic_auth(application.client_id, application.secret),
                          url=f"{TOKEN_URL}?client_secret={application.secret}")
    assert_error(response, 400, "invalid_request")


# --- grant and scope failures ---------------------------------------------------------------------


def test_public_client_cannot_use_client_credentials(client):
    application = PublicApplicationFactory()
    # Even if an operator forced the grant onto a public client, the grant refuses it.
    application.grant_types = [GrantType.CLIENT_CREDENTIALS]
    application.save()
    response = post_token(client, {"grant_type": "client_credentials", "client_id": application.client_id})
    assert_error(response, 400, "unauthorized_client")
    assert not AccessToken.objects.exists()


def test_client_not_allowed_the_grant_is_unauthorized_client(client):
    application = ApplicationFactory(grant_types=[GrantType.AUTHORIZATION_CODE],
                                     redirect_uris="https://client.example.test/cb")
    response = post_token(client, {"grant_type": "client_credentials"},
                          auth=basic_auth(application.client_id, application.secret))
    assert_error(response, 400, "unauthorized_client")


def test_scope_outside_the_clients_is_invalid_scope(client, application):
    response = post_token(client, {"grant_type": "client_credentials", "scope": "read admin"},
                          auth=basic_auth(application.client_id, application.secret))
    body = assert_error(response, 400, "invalid_scope")
    assert "admin" in body["error_description"]
    assert not AccessToken.objects.exists()


def test_malformed_scope_is_invalid_scope(client, application):
    response = post_token(client, {"grant_type": "client_credentials", "scope": 'read "quoted"'},
                          auth=basic_auth(application.client_id, application.secret))
    assert_error(response, 400, "invalid_scope")


def test_no_scope_and_no_default_is_invalid_scope(client):
    application = ApplicationFactory(allowed_scopes="write", default_scopes="")
    response = post_token(client, {"grant_type": "client_credentials"},
                          auth=basic_auth(application.client_id, application.secret))
    assert_error(response, 400, "invalid_scope")


# --- malformed requests ---------------------------------------------------------------------------


def test_missing_grant_type_is_invalid_request(client, application):
    response = post_token(client, {"scope": "read"}, auth=basic_auth(application.client_id, application.secret))
    assert_error(response, 400, "invalid_request")


def test_unknown_grant_type_is_unsupported_grant_type(client, application):
    response = post_token(client, {"grant_type": "urn:example:magic"},
                          auth=basic_auth(application.client_id, application.secret))
    assert_error(response, 400, "unsupported_grant_type")


def test_repeated_parameter_is_invalid_request(client, application):
    response = post_token(client, "grant_type=client_credentials&scope=read&scope=write",
                          auth=basic_auth(application.client_id, application.secret))
    body = assert_error(response, 400, "invalid_request")
    assert "scope" in body["error_description"]


def test_json_body_is_invalid_request(client, application):
    response = post_token(client, json.dumps({"grant_type": "client_credentials"}),
                          auth=basic_auth(application.client_id, application.secret),
                          content_type="application/json")
    assert_error(response, 400, "invalid_request")


def test_missing_content_type_is_invalid_request(client, application):
    response = client.generic("POST", TOKEN_URL, b"grant_type=client_credentials", content_type="",
                              HTTP_AUTHORIZATION=basic_auth(application.client_id, application.secret))
    assert_error(response, 400, "invalid_request")


def test_oversized_parameter_is_invalid_request(client, application):
    response = post_token(client, {"grant_type": "client_credentials", "scope": "r" * 5000},
                          auth=basic_auth(application.client_id, application.secret))
    assert_error(response, 400, "invalid_request")


def test_get_is_method_not_allowed_with_json_error(client, db):
    response = client.get(TOKEN_URL)
    assert_error(response, 405, "invalid_request")
    assert "POST" in response["Allow"]


def test_error_responses_never_echo_the_secret(client, application):
    response = post_token(client, {"grant_type": "client_credentials", "client_id": application.client_id,
                                   "client_secret": "very-secret-guess"})
    assert b"very-secret-guess" not in response.content


def test_token_response_is_json_whatever_the_accept_header(client, application):
    # RFC 6749 §5.1: the token response is application/json; no content negotiation, no 406.
    response = client.post(TOKEN_URL, "grant_type=client_credentials",
                           content_type="application/x-www-form-urlencoded",
                           HTTP_AUTHORIZATION=basic_auth(application.client_id, application.secret),
                           HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.security("S3")
def test_public_client_can_never_use_client_credentials(client, public_app):
    with pytest.raises(ValidationError):
        Application(name="p", client_type="public", grant_types=["client_credentials"]).full_clean()
    public_app.grant_types = [*public_app.grant_types, "client_credentials"]
    Application.objects.filter(pk=public_app.pk).update(grant_types=public_app.grant_types)
    response = token_request(client, public_app, {"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


@pytest.mark.security("S13")
def test_token_responses_carry_no_store(client, application):
    response = token_request(client, application, {"grant_type": "client_credentials"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


@pytest.mark.security("S13")
def test_token_errors_are_rfc6749_section_5_2_json(client, application):
    response = token_request(client, application, {"grant_type": "nope"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json()["error"] == "unsupported_grant_type"
    assert set(response.json()) <= {"error", "error_description", "error_uri"}
