"""CORS at the token endpoint for origins that active clients registered."""

import pytest

from tests.factories import PublicApplicationFactory
from tests.helpers.flows import token_request

pytestmark = pytest.mark.django_db

ORIGIN = "https://spa.example.test"


@pytest.fixture
def spa(db):
    return PublicApplicationFactory(allowed_origins=f"{ORIGIN}\nhttps://other.example.test")


def preflight(client, origin):
    return client.options(
        "/oauth/token/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )


def test_preflight_from_registered_origin_is_allowed(client, spa):
    response = preflight(client, ORIGIN)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Content-Type" in response["Access-Control-Allow-Headers"]
    assert "Origin" in response["Vary"]


def test_preflight_from_unregistered_origin_gets_no_cors_headers(client, spa):
    response = preflight(client, "https://evil.example")
    assert "Access-Control-Allow-Origin" not in response


def test_origin_that_is_a_prefix_of_a_registered_one_is_refused(client, spa):
    assert "Access-Control-Allow-Origin" not in preflight(client, "https://spa.example")


def test_origin_of_an_inactive_client_is_refused(client, spa):
    spa.is_active = False
    spa.save()
    assert "Access-Control-Allow-Origin" not in preflight(client, ORIGIN)


def test_null_origin_is_refused(client, spa):
    assert "Access-Control-Allow-Origin" not in preflight(client, "null")


def test_token_response_echoes_a_registered_origin(client, spa):
    data = {"grant_type": "refresh_token", "refresh_token": "x"}
    response = token_request(client, spa, data, HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 400  # errors are readable by the browser client too
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_token_response_to_an_unregistered_origin_has_no_cors_header(client, spa):
    response = token_request(
        client, spa, {"grant_type": "refresh_token", "refresh_token": "x"}, HTTP_ORIGIN="https://evil.example"
    )
    assert "Access-Control-Allow-Origin" not in response


def test_token_response_without_origin_has_no_cors_header(client, spa):
    response = token_request(client, spa, {"grant_type": "refresh_token", "refresh_token": "x"})
    assert "Access-Control-Allow-Origin" not in response
    assert "Vary" not in response or "Origin" not in response["Vary"]


def test_token_response_to_an_origin_another_client_registered_has_no_cors_header(client, spa):
    """The preflight is allowed (it names no client), but the answer is readable only by pages of the
    requesting client's own origins."""
    other = PublicApplicationFactory(allowed_origins="https://elsewhere.example.test")
    assert preflight(client, "https://elsewhere.example.test")["Access-Control-Allow-Origin"]
    response = token_request(client, spa, {"grant_type": "authorization_code", "code": "x"},
                             HTTP_ORIGIN="https://elsewhere.example.test")
    assert "Access-Control-Allow-Origin" not in response
    response = token_request(client, other, {"grant_type": "authorization_code", "code": "x"},
                             HTTP_ORIGIN="https://elsewhere.example.test")
    assert response["Access-Control-Allow-Origin"] == "https://elsewhere.example.test"


@pytest.mark.security("S8")
def test_token_response_of_a_client_without_origins_has_no_cors_header(client, application):
    response = token_request(client, application, {"grant_type": "client_credentials"},
                             HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response
