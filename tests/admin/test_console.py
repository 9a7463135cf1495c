"""The admin shows a new client's secret exactly once and never stores it."""

import re

import pytest

from oauth_provider import crypto
from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import Application, AuditEvent, SigningKey
from tests.factories import ApplicationFactory, UserFactory
from tests.helpers.admin import add_form

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/oauth_provider/application/add/"




def shown_secret(response) -> str:
    match = re.search(r'id="client-secret">([^<]+)<', response.content.decode())
    assert match, "the secret is not on the page"
    return match.group(1)


def test_creating_a_confidential_client_shows_its_secret_once(staff_client):
    response = staff_client.post(ADD_URL, add_form(), follow=True)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response)
    application = Application.objects.get(name="Billing service")
    assert application.client_secret_digest == crypto.digest(secret)
    change_page = staff_client.get(f"/admin/oauth_provider/application/{application.pk}/change/")
    assert secret not in change_page.content.decode()
    assert application.client_secret_digest not in change_page.content.decode()


def test_secret_is_not_put_in_messages_or_session(staff_client):
    response = staff_client.post(ADD_URL, add_form(), follow=True)
    secret = shown_secret(response)
    assert secret not in str(dict(staff_client.session))
    assert secret not in staff_client.get("/admin/").content.decode()


def test_public_client_gets_no_secret(staff_client):
    response = staff_client.post(
        ADD_URL,
        add_form(client_type="public", grant_types=["authorization_code"],
                 redirect_uris="https://spa.example.test/cb"),
    )
    assert response.status_code == 302
    assert Application.objects.get(name="Billing service").client_secret_digest == ""


def test_admin_refuses_client_credentials_for_a_public_client(staff_client):
    response = staff_client.post(ADD_URL, add_form(client_type="public"))
    assert response.status_code == 200
    assert "cannot use client_credentials" in response.content.decode()
    assert not Application.objects.exists()


def test_admin_refuses_an_insecure_redirect_uri(staff_client):
    response = staff_client.post(
        ADD_URL, add_form(grant_types=["authorization_code"], redirect_uris="http://evil.example.test/cb")
    )
    assert "loopback" in response.content.decode()
    assert not Application.objects.exists()


def test_client_creation_is_audited_with_the_admin(staff_client):
    staff_client.post(ADD_URL, add_form())
    event = AuditEvent.objects.get(event="client_created")
    assert event.user.is_staff
    assert event.details == {"source": "admin"}


def test_rotate_secret_action_shows_the_new_secret_once(staff_client):
    application = ApplicationFactory()
    response = staff_client.post(
        "/admin/oauth_provider/application/",
        {"action": "rotate_secret", "_selected_action": [application.pk]},
        follow=True,
    )
    secret = shown_secret(response)
    application.refresh_from_db()
    assert application.check_secret(secret)
    assert not application.check_secret(application.secret)
    assert AuditEvent.objects.filter(event="client_secret_rotated", application=application).exists()


def test_non_staff_cannot_reach_the_client_admin(client):
    client.force_login(UserFactory())
    response = client.get(ADD_URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_signing_key_admin_never_shows_the_private_key(staff_client):
    from oauth_provider.keys.store import get_signing_key
    from oauth_provider.models import SigningKey

    get_signing_key()
    row = SigningKey.objects.get()
    page = staff_client.get(f"/admin/oauth_provider/signingkey/{row.pk}/change/").content.decode()
    assert row.private_key_encrypted not in page


@pytest.mark.security("S21")
def test_admin_never_shows_a_secret_digest_or_private_key(admin_client, application):
    get_signing_key()
    client_page = admin_client.get(f"/admin/oauth_provider/application/{application.pk}/change/").content.decode()
    key = SigningKey.objects.get()
    key_page = admin_client.get(f"/admin/oauth_provider/signingkey/{key.pk}/change/").content.decode()
    assert application.secret not in client_page
    assert application.client_secret_digest not in client_page
    assert key.private_key_encrypted not in key_page
    assert "PRIVATE KEY" not in key_page
