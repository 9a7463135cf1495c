"""The admin creates initial access tokens for registration and shows each exactly once."""

import re

import pytest

from oauth_provider import audit, crypto
from oauth_provider.models import AuditEvent, InitialAccessToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/oauth_provider/initialaccesstoken/add/"


@pytest.fixture
def admin_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def create(staff_client):
    return staff_client.post(ADD_URL, {"description": "for the printer team", "expires_at": "2099-01-01 00:00:00",
                                       "max_uses": "2"})


def shown_token(response) -> str:
    match = re.search(r'id="initial-access-token">([^<]+)<', response.content.decode())
    assert match, "the token is not on the page"
    return match.group(1)


def test_creating_an_initial_access_token_shows_it_once(staff_client):
    response = create(staff_client)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = shown_token(response)
    row = InitialAccessToken.objects.get()
    assert row.token_digest == crypto.digest(token)
    assert row.max_uses == 2
    change_page = staff_client.get(f"/admin/oauth_provider/initialaccesstoken/{row.pk}/change/").content.decode()
    assert token not in change_page and row.token_digest not in change_page


def test_creator_is_recorded_and_audited(staff_client, admin_user):
    create(staff_client)
    assert InitialAccessToken.objects.get().created_by == admin_user
    event = AuditEvent.objects.get(event=audit.INITIAL_ACCESS_TOKEN_CREATED)
    assert event.user == admin_user
    assert "token" not in {key for key in event.details if key != "initial_access_token_id"}


def test_token_is_not_put_in_the_session(staff_client):
    token = shown_token(create(staff_client))
    assert token not in str(dict(staff_client.session))


def test_client_admin_offers_the_resource_server_flag(staff_client):
    page = staff_client.get("/admin/oauth_provider/application/add/").content.decode()
    assert 'name="is_resource_server"' in page and 'name="resource_audiences"' in page
