"""The admin's client form: POST/redirect/GET secret page shown once, real client id, no unusable client,
fieldsets and labels, the "Rotate secret" button; and oauth_create_client's new options."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from oauth_provider.models import Application, AuditEvent
from tests.factories import ApplicationFactory, UserFactory
from tests.helpers.admin import add_form

pytestmark = pytest.mark.django_db
CLIENTS = "/admin/oauth_provider/application/"
ADD_URL = CLIENTS + "add/"




def secret_on(page) -> str | None:
    match = re.search(r'id="client-secret">([^<]+)<', page.content.decode())
    return match.group(1) if match else None


# --- POST/redirect/GET, shown once ----------------------------------------------------------------


def test_adding_a_client_redirects_and_the_post_answer_carries_no_secret(staff_client):
    response = staff_client.post(ADD_URL, add_form())
    assert response.status_code == 302
    application = Application.objects.get()
    assert response["Location"].startswith(f"{CLIENTS}{application.pk}/secret/")
    assert b"client-secret" not in response.content
    page = staff_client.get(response["Location"])
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert application.check_secret(secret_on(page))


def test_reloading_the_secret_page_shows_no_secret_and_creates_no_client(staff_client):
    location = staff_client.post(ADD_URL, add_form())["Location"]
    first = staff_client.get(location)
    secret = secret_on(first)
    again = staff_client.get(location, follow=True)
    assert secret_on(again) is None
    assert secret not in again.content.decode()
    assert "already shown" in again.content.decode()
    assert Application.objects.count() == 1


def test_the_pending_secret_is_encrypted_in_the_session(staff_client):
    location = staff_client.post(ADD_URL, add_form())["Location"]
    stored = json.dumps(dict(staff_client.session), default=str)
    page = staff_client.get(location)
    assert secret_on(page) not in stored


def test_another_admin_cannot_open_the_secret_page(staff_client):
    from django.test import Client

    location = staff_client.post(ADD_URL, add_form())["Location"]
    other = Client()
    other.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert secret_on(other.get(location, follow=True)) is None
    # ... and the creator still gets it once (the other admin's session never held it).
    assert secret_on(staff_client.get(location)) is not None


def test_a_guessed_or_foreign_handle_shows_nothing(staff_client):
    location = staff_client.post(ADD_URL, add_form())["Location"]
    handle = location.rstrip("/").rsplit("/", 1)[1]
    other = ApplicationFactory()
    assert secret_on(staff_client.get(f"{CLIENTS}{other.pk}/secret/{handle}/", follow=True)) is None
    assert secret_on(staff_client.get(f"{CLIENTS}{other.pk}/secret/not-a-handle/", follow=True)) is None


def test_an_expired_secret_is_not_shown(staff_client, monkeypatch):
    from oauth_provider.admin import console

    location = staff_client.post(ADD_URL, add_form())["Location"]
    monkeypatch.setattr(console, "SECRET_ONCE_SECONDS", -1)
    assert secret_on(staff_client.get(location, follow=True)) is None


def test_a_view_only_admin_cannot_open_the_secret_page(staff_client, client):
    from django.contrib.auth.models import Permission
    from django.test import Client

    location = staff_client.post(ADD_URL, add_form())["Location"]
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_application"))
    browser = Client()
    browser.force_login(viewer)
    assert browser.get(location).status_code == 403


def test_rotate_secret_button_rotates_with_post_redirect_get(staff_client):
    application = ApplicationFactory()
    change = staff_client.get(f"{CLIENTS}{application.pk}/change/").content.decode()
    assert 'id="rotate-secret"' in change and "Rotate secret" in change
    assert staff_client.get(f"{CLIENTS}{application.pk}/rotate-secret/").status_code == 302
    application.refresh_from_db()
    assert application.check_secret(application.secret)  # a GET rotates nothing
    response = staff_client.post(f"{CLIENTS}{application.pk}/rotate-secret/")
    assert response.status_code == 302 and "/secret/" in response["Location"]
    secret = secret_on(staff_client.get(response["Location"]))
    application.refresh_from_db()
    assert application.check_secret(secret) and not application.check_secret(application.secret)
    assert AuditEvent.objects.filter(event="client_secret_rotated", application=application).count() == 1


def test_public_clients_have_no_rotate_button(staff_client):
    application = ApplicationFactory(client_type="public", grant_types=["authorization_code"],
                                     redirect_uris="https://spa.example.test/cb")
    assert 'id="rotate-secret"' not in staff_client.get(f"{CLIENTS}{application.pk}/change/").content.decode()


# --- the form -------------------------------------------------------------------------------------


def test_add_form_shows_no_client_id_and_the_change_page_shows_the_real_one_first(staff_client):
    add_page = staff_client.get(ADD_URL).content.decode()
    assert 'id="client-id"' not in add_page
    assert "generated when you save" in add_page
    staff_client.post(ADD_URL, add_form())
    application = Application.objects.get()
    change = staff_client.get(f"{CLIENTS}{application.pk}/change/").content.decode()
    assert f'<code id="client-id">{application.client_id}</code>' in change
    assert change.index('id="client-id"') < change.index('name="name"')


@pytest.mark.parametrize(("field", "value", "message"), [
    ("grant_types", [], "at least one grant type"),
    ("allowed_scopes", "", "at least one scope"),
    ("allowed_scopes", "   ", "at least one scope"),
])
def test_a_client_that_could_never_get_a_token_is_refused(staff_client, field, value, message):
    data = add_form(**{field: value})
    if value == []:
        data.pop("grant_types")
    response = staff_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Application.objects.exists()


def test_the_form_is_grouped_and_labelled_as_people_write(staff_client):
    page = staff_client.get(ADD_URL).content.decode()
    for legend in ("Identity", "Redirects and origins", "Grants and scopes", "Security"):
        assert f">{legend}</h2>" in page
    for label in ("Redirect URIs", "Require PKCE", "Allowed origins (CORS)", "Allow plain PKCE"):
        assert re.search(rf">{re.escape(label)}:?</label>", page), label


def test_changelists_load_the_stylesheet_that_makes_them_fit(staff_client):
    for model in ("application", "accesstoken", "refreshtoken", "signingkey"):
        assert "oauth_provider/admin.css" in staff_client.get(f"/admin/oauth_provider/{model}/").content.decode()


def test_refresh_token_family_is_shortened_with_the_full_id_in_the_tooltip(staff_client):
    from oauth_provider.tokens.issue import issue_refresh_token

    token = issue_refresh_token(application=ApplicationFactory(), user=None, scope="read").record
    page = staff_client.get("/admin/oauth_provider/refreshtoken/").content.decode()
    assert f'title="{token.family_id}"' in page and f">{str(token.family_id)[:8]}…<" in page


# --- oauth_create_client ------------------------------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_client_takes_origins_lifetime_fixed_id_and_pkce():
    output = run("oauth_create_client", "SPA helper", "--grant-type", "authorization_code",
                 "--redirect-uri", "https://app.example.com/cb", "--scope", "read",
                 "--origin", "https://app.example.com", "--origin", "https://admin.example.com",
                 "--access-token-lifetime", "300", "--client-id", "legacy-client-7", "--no-pkce", "--json")
    result = json.loads(output)
    application = Application.objects.get(client_id="legacy-client-7")
    assert result["client_id"] == "legacy-client-7"
    assert application.origin_list == ["https://app.example.com", "https://admin.example.com"]
    assert application.access_token_lifetime == 300
    assert application.require_pkce is False


@pytest.mark.parametrize(("args", "message"), [
    (["--scope", "read"], "grant-type"),
    (["--grant-type", "client_credentials", "--scope", ""], "invalid_scope"),
    (["--grant-type", "client_credentials", "--access-token-lifetime", "0"], "positive"),
])
def test_create_client_refuses_an_unusable_client(args, message):
    with pytest.raises(CommandError, match=message):
        run("oauth_create_client", "Unusable", *args)
    assert not Application.objects.exists()


def test_create_client_refuses_a_client_id_already_taken():
    ApplicationFactory(client_id="taken-id")
    with pytest.raises(CommandError, match="client_id"):
        run("oauth_create_client", "Dup", "--grant-type", "client_credentials", "--client-id", "taken-id")


def test_create_client_without_scope_gets_the_server_default_scopes():
    result = json.loads(run("oauth_create_client", "Svc", "--grant-type", "client_credentials", "--json"))
    assert result["scope"] == "read"


def test_the_example_site_sets_a_site_header(staff_client):
    assert "Example OAuth server" in staff_client.get("/admin/").content.decode()
