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


def change_token(staff_client, row, **data):
    form = {"description": row.description, "expires_at": row.expires_at.strftime("%Y-%m-%d %H:%M:%S"),
            "max_uses": str(row.max_uses), **data}
    return staff_client.post(f"/admin/oauth_provider/initialaccesstoken/{row.pk}/change/", form)


def test_an_initial_access_token_cannot_be_extended_in_the_admin(staff_client):
    """The attack: stretch a one-week, two-use token to ten years and a thousand uses."""
    create(staff_client)
    row = InitialAccessToken.objects.get()
    expires_at, max_uses = row.expires_at, row.max_uses
    response = change_token(staff_client, row, expires_at="2999-01-01 00:00:00")
    assert response.status_code == 200
    assert "can only be shortened" in response.content.decode()
    response = change_token(staff_client, row, max_uses="1000")
    assert "can only be lowered" in response.content.decode()
    row.refresh_from_db()
    assert (row.expires_at, row.max_uses) == (expires_at, max_uses)


def test_an_initial_access_token_can_be_shortened_in_the_admin(staff_client):
    create(staff_client)
    row = InitialAccessToken.objects.get()
    response = change_token(staff_client, row, expires_at="2098-01-01 00:00:00", max_uses="1")
    assert response.status_code == 302, response.content
    row.refresh_from_db()
    assert row.expires_at.year == 2098 and row.max_uses == 1
