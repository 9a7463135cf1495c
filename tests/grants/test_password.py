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


@pytest.mark.security("S27")
def test_a_strangers_wrong_passwords_do_not_lock_the_user_out(client, password_app, user):
    for _ in range(10):
        login_from(client, password_app, user.username, "wrong", "198.51.100.7")
    assert login_from(client, password_app, user.username, PASSWORD, "198.51.100.7").status_code == 429
    assert login_from(client, password_app, user.username, PASSWORD, "10.0.0.1").status_code == 200


@pytest.mark.security("S27")
def test_failures_are_limited_per_address_across_usernames(client, password_app, user, settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "PASSWORD_GRANT_MAX_FAILURES_PER_ADDRESS": 3}
    statuses = [login_from(client, password_app, f"user-{n}", "wrong", "198.51.100.7").status_code for n in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert login_from(client, password_app, user.username, PASSWORD, "10.0.0.1").status_code == 200


def test_a_refused_login_never_runs_the_password_check(client, password_app, user, monkeypatch):
    from oauth_provider.grants import password

    checked = []
    real = password.authenticate
    monkeypatch.setattr(password, "authenticate", lambda *a, **k: checked.append(1) or real(*a, **k))
    for _ in range(8):
        password_request(client, password_app, user.username, "wrong")
    assert len(checked) == 5


def test_a_lock_out_is_audited_once(client, password_app, user):
    for _ in range(9):
        password_request(client, password_app, user.username, "wrong")
    events = AuditEvent.objects.filter(event=audit.RATE_LIMIT_REACHED)
    assert [event.details["limit"] for event in events] == ["password-identity"]
    assert events.get().client_id == password_app.client_id


def login_from(client, app, username, password, address):
    return token_request(client, app, {"grant_type": "password", "username": username, "password": password},
                         REMOTE_ADDR=address)
