"""The password grant: an opt-in per client, authenticated by Django, limited against guessing."""

import pytest

from oauth_provider import audit
from oauth_provider.models import AuditEvent
from tests.factories import ApplicationFactory
from tests.helpers.flows import token_request

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def password_app(db):
    return ApplicationFactory(grant_types=["password", "refresh_token"])


def password_request(client, app, username, password, **extra):
    return token_request(client, app, {"grant_type": "password", "username": username, "password": password,
                                       **extra})


def test_password_grant_issues_user_tokens(client, password_app, user):
    response = password_request(client, password_app, user.username, PASSWORD)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["refresh_token"]
    assert body["scope"] == "read"


def test_password_grant_is_off_for_clients_by_default(client, user):
    app = ApplicationFactory()
    response = password_request(client, app, user.username, PASSWORD)
    assert response.json()["error"] == "unauthorized_client"


def test_wrong_password_is_invalid_grant(client, password_app, user):
    response = password_request(client, password_app, user.username, "wrong")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert AuditEvent.objects.filter(event=audit.PASSWORD_GRANT_FAILED).count() == 1


def test_inactive_user_is_invalid_grant(client, password_app, user):
    user.is_active = False
    user.save()
    assert password_request(client, password_app, user.username, PASSWORD).json()["error"] == "invalid_grant"


def test_guessing_is_rate_limited_with_429_and_retry_after(client, password_app, user):
    for _ in range(5):
        password_request(client, password_app, user.username, "wrong")
    response = password_request(client, password_app, user.username, PASSWORD)
    assert response.status_code == 429
    assert response.json()["error"] == "invalid_grant"
    assert 0 < int(response["Retry-After"]) <= 300


def test_rate_limit_is_per_username(client, password_app, user):
    for _ in range(5):
        password_request(client, password_app, "someone-else", "wrong")
    assert password_request(client, password_app, user.username, PASSWORD).status_code == 200


def test_rate_limit_is_configurable(client, password_app, user, settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "PASSWORD_GRANT_MAX_FAILURES": 1}
    password_request(client, password_app, user.username, "wrong")
    assert password_request(client, password_app, user.username, PASSWORD).status_code == 429


def test_success_resets_the_failure_count(client, password_app, user):
    for _ in range(4):
        password_request(client, password_app, user.username, "wrong")
    password_request(client, password_app, user.username, PASSWORD)
    for _ in range(4):
        password_request(client, password_app, user.username, "wrong")
    assert password_request(client, password_app, user.username, PASSWORD).status_code == 200


def test_missing_password_is_invalid_request(client, password_app, user):
    response = token_request(client, password_app, {"grant_type": "password", "username": user.username})
    assert response.json()["error"] == "invalid_request"


def test_scope_outside_client_allowed_is_invalid_scope(client, password_app, user):
    response = password_request(client, password_app, user.username, PASSWORD, scope="admin")
    assert response.json()["error"] == "invalid_scope"


@pytest.mark.security("S9")
def test_password_grant_is_off_unless_the_client_opts_in(client, application, user):
    response = token_request(client, application, {"grant_type": "password", "username": user.username,
                                                   "password": "x"})
    assert response.json()["error"] == "unauthorized_client"
