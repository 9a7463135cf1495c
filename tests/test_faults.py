"""Fault handling: the database fails or a constraint breaks mid-request.

The answer is a clean RFC 6749 error (JSON at the token endpoint, the error page at the
authorization endpoint) without internal details, and the transaction is rolled back: no
half-written rows, no code marked used without its tokens. Failures are injected with
``connection.execute_wrapper`` at the exact statement, so everything before it really ran.
"""

from contextlib import contextmanager

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test import Client

from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import AccessToken, AuditEvent, AuthorizationCode, Consent, RefreshToken
from tests.factories import UserFactory, WebApplicationFactory
from tests.helpers.flows import authorize_url, obtain_code, redeem, token_request

pytestmark = pytest.mark.django_db(transaction=True)

DETAILS = "connection to server at 10.1.2.3 failed: FATAL password authentication for user app_owner"


@contextmanager
def failing(statement_start: str, error: type[Exception] = OperationalError):
    """Make every SQL statement that starts with ``statement_start`` raise ``error``."""

    def wrapper(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(statement_start.upper()):
            raise error(DETAILS)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def insert_into(model) -> str:
    return f'INSERT INTO "{model._meta.db_table}"'


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (AccessToken, RefreshToken, AuthorizationCode, Consent)}


def assert_clean_json(response, status: int, error: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert set(body) <= {"error", "error_description"}
    for leak in ("10.1.2.3", "app_owner", "Traceback", "OperationalError", "IntegrityError", "INSERT"):
        assert leak not in response.content.decode()


@pytest.fixture
def web(db):
    get_signing_key()
    app = WebApplicationFactory()
    browser = Client()
    browser.force_login(UserFactory())
    return app, browser


def test_database_down_at_the_token_endpoint_answers_503_temporarily_unavailable(client, application):
    with failing(""):
        response = token_request(client, application, {"grant_type": "client_credentials"})
    assert_clean_json(response, 503, "temporarily_unavailable")


def test_failed_audit_write_in_client_credentials_leaves_no_access_token(client, application):
    get_signing_key()
    with failing(insert_into(AuditEvent)):
        response = token_request(client, application, {"grant_type": "client_credentials"})
    assert_clean_json(response, 503, "temporarily_unavailable")
    assert AccessToken.objects.count() == 0


def test_failed_access_token_insert_rolls_back_the_code_use_and_the_refresh_token(web):
    app, browser = web
    code = obtain_code(browser, app)
    with failing(insert_into(AccessToken)):
        response = redeem(Client(), app, code)
    assert_clean_json(response, 503, "temporarily_unavailable")
    assert AuthorizationCode.objects.get().used_at is None
    assert RefreshToken.objects.count() == 0
    # Nothing half-done: the same code still works once the database is back.
    assert redeem(Client(), app, code).status_code == 200


def test_failed_audit_write_at_code_redemption_rolls_back_every_row(web):
    app, browser = web
    code = obtain_code(browser, app)
    before = row_counts()
    with failing(insert_into(AuditEvent)):
        response = redeem(Client(), app, code)
    assert_clean_json(response, 503, "temporarily_unavailable")
    assert row_counts() == before
    assert AuthorizationCode.objects.get().used_at is None


def test_constraint_violation_during_refresh_rotation_keeps_the_old_token_usable(web):
    app, browser = web
    refresh = redeem(browser, app, obtain_code(browser, app)).json()["refresh_token"]
    before = row_counts()
    data = {"grant_type": "refresh_token", "refresh_token": refresh}
    with failing(insert_into(RefreshToken), IntegrityError):
        response = token_request(Client(), app, data)
    assert_clean_json(response, 503, "temporarily_unavailable")
    assert row_counts() == before
    assert RefreshToken.objects.filter(used_at__isnull=False).count() == 0
    assert token_request(Client(), app, data).status_code == 200


def test_failed_revocation_on_code_replay_keeps_the_tokens_and_answers_cleanly(web):
    app, browser = web
    code = obtain_code(browser, app)
    assert redeem(Client(), app, code).status_code == 200
    with failing('UPDATE "oauth_provider_refreshtoken"'):
        response = redeem(Client(), app, code)
    assert_clean_json(response, 503, "temporarily_unavailable")
    # All or nothing: the access token was not revoked without its refresh family either.
    assert AccessToken.objects.filter(revoked_at__isnull=False).count() == 0
    assert redeem(Client(), app, code).json()["error"] == "invalid_grant"
    assert AccessToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_unexpected_exception_answers_500_server_error_without_details(client, application, monkeypatch):
    from oauth_provider.grants import base

    def broken(**kwargs):
        raise RuntimeError(DETAILS)

    monkeypatch.setattr(base, "issue_access_token", broken)
    response = token_request(client, application, {"grant_type": "client_credentials"})
    assert_clean_json(response, 500, "server_error")
    assert "RuntimeError" not in response.content.decode()


def assert_clean_page(response, status: int, error: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert response["Referrer-Policy"] == "same-origin"  # no referrer leaves the origin
    assert response["X-Frame-Options"] == "DENY"
    content = response.content.decode()
    assert error in content
    for leak in ("10.1.2.3", "app_owner", "Traceback", "OperationalError", "INSERT"):
        assert leak not in content


def test_database_down_at_the_authorize_endpoint_shows_the_503_error_page(db):
    app = WebApplicationFactory()
    with failing(""):
        response = Client().get(authorize_url(app))
    assert_clean_page(response, 503, "temporarily_unavailable")


def test_failed_code_insert_after_consent_shows_an_error_page_and_keeps_no_consent(web):
    app, browser = web
    before = row_counts()
    with failing(insert_into(AuthorizationCode)):
        response = browser.post(authorize_url(app), {"decision": "allow"})
    assert_clean_page(response, 503, "temporarily_unavailable")
    assert "Location" not in response
    assert row_counts() == before


def test_unexpected_exception_at_the_authorize_endpoint_shows_the_500_error_page(web, monkeypatch):
    from oauth_provider.views import authorize

    def broken(*args, **kwargs):
        raise RuntimeError(DETAILS)

    monkeypatch.setattr(authorize, "approve", broken)
    app, browser = web
    response = browser.post(authorize_url(app), {"decision": "allow"})
    assert_clean_page(response, 500, "server_error")
    assert Consent.objects.count() == 0


def test_database_down_at_the_jwks_endpoint_answers_503_and_nothing_is_cached(client, db):
    with failing(""):
        response = client.get("/oauth/jwks/")
    assert_clean_json(response, 503, "temporarily_unavailable")
    assert client.get("/oauth/jwks/").json()["keys"]

