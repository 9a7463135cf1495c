"""The example site's API (/api/me, /api/notes/, /api/ping) with real tokens."""

import time

import pytest
from django.test import Client

from example_project.models import Note
from oauth_provider.tokens.issue import issue_access_token
from tests.factories import ApplicationFactory, UserFactory
from tests.helpers.flows import client_credentials_token
from tests.helpers.jwt import token

pytestmark = pytest.mark.django_db


def bearer(value: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {value}"}


@pytest.fixture
def user_token(application, user):
    def make(scope: str = "read write notes:delete", who=None) -> str:
        return issue_access_token(
            application=application, scope=scope.split(), grant_type="authorization_code", user=who or user
        ).token

    return make


def test_me_with_a_client_credentials_token_shows_the_client(client):
    application = ApplicationFactory()
    response = client.get("/api/me", **bearer(client_credentials_token(client, application)))
    assert response.status_code == 200
    body = response.json()
    assert body["client"] == {"client_id": application.client_id}
    assert body["sub"] == application.client_id
    assert "user" not in body


def test_me_with_a_user_token_shows_the_user(client, user, user_token):
    body = client.get("/api/me", **bearer(user_token("read"))).json()
    assert body["user"] == {"id": user.pk, "username": user.username}
    assert body["scope"] == "read"


def test_me_without_a_token_answers_401_with_a_bare_challenge(client):
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_me_with_a_forged_token_answers_401_invalid_token(client, user_token):
    header, payload, signature = user_token("read").split(".")
    response = client.get("/api/me", **bearer(f"{header}.{payload}.{signature[:-4]}AAAA"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_token"')
    assert response.json()["error"] == "invalid_token"


def test_me_with_an_expired_token_answers_401_invalid_token(client):
    now = int(time.time())
    response = client.get("/api/me", **bearer(token(iat=now - 700, exp=now - 100)))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description="The access token expired."'
    )


def test_me_without_the_read_scope_answers_403(client, user_token):
    response = client.get("/api/me", **bearer(user_token("write")))
    assert response.status_code == 403
    assert response["WWW-Authenticate"].endswith('scope="read"')


def test_ping_is_a_plain_django_view_protected_by_the_decorator(client):
    application = ApplicationFactory()
    response = client.get("/api/ping", **bearer(client_credentials_token(client, application)))
    assert response.json() == {"pong": True, "client_id": application.client_id}
    assert client.get("/api/ping").status_code == 401


def test_notes_are_created_and_listed_for_the_token_user(client, user, user_token):
    value = user_token("read write")
    created = client.post(
        "/api/notes/", {"text": "buy milk"}, content_type="application/json", **bearer(value)
    )
    assert created.status_code == 201
    assert Note.objects.get().owner == user
    listed = client.get("/api/notes/", **bearer(value)).json()
    assert [note["text"] for note in listed] == ["buy milk"]


def test_creating_a_note_needs_the_write_scope(client, user_token):
    response = client.post(
        "/api/notes/", {"text": "x"}, content_type="application/json", **bearer(user_token("read"))
    )
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert response["WWW-Authenticate"].endswith('scope="write"')
    assert not Note.objects.exists()


def test_users_see_only_their_own_notes(client, user, user_token):
    other = UserFactory()
    Note.objects.create(owner=other, text="not yours")
    Note.objects.create(owner=user, text="yours")
    listed = client.get("/api/notes/", **bearer(user_token("read"))).json()
    assert [note["text"] for note in listed] == ["yours"]
    other_note = Note.objects.get(owner=other)
    assert client.get(f"/api/notes/{other_note.pk}/", **bearer(user_token("read"))).status_code == 404


def test_notes_refuse_client_only_tokens(client):
    application = ApplicationFactory()
    response = client.get("/api/notes/", **bearer(client_credentials_token(client, application)))
    assert response.status_code == 403


def test_deleting_a_note_needs_the_notes_delete_scope(client, user, user_token):
    note = Note.objects.create(owner=user, text="keep me")
    response = client.delete(f"/api/notes/{note.pk}/", **bearer(user_token("read write")))
    assert response.status_code == 403
    assert response["WWW-Authenticate"].endswith('scope="notes:delete"')
    assert Note.objects.filter(pk=note.pk).exists()
    response = client.delete(f"/api/notes/{note.pk}/", **bearer(user_token("read notes:delete")))
    assert response.status_code == 204
    assert not Note.objects.filter(pk=note.pk).exists()


def test_home_page_shows_the_api_curl_example(client):
    content = client.get("/").content.decode()
    assert 'curl -s -H "Authorization: Bearer $TOKEN"' in content.replace("&quot;", '"')
    assert "/api/me" in content


@pytest.mark.security("S16")
def test_a_token_of_another_issuer_answers_401_bearer_invalid_token():
    response = Client().get("/api/me", HTTP_AUTHORIZATION="Bearer " + token(iss="https://other.example"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert response["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.security("S16")
def test_missing_scope_answers_403_insufficient_scope_naming_the_scope():
    response = Client().delete("/api/notes/1/", HTTP_AUTHORIZATION="Bearer " + token(scope="read", sub="1"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert 'scope="' in response["WWW-Authenticate"]


@pytest.mark.security("S16")
def test_a_token_in_the_query_string_is_refused():
    response = Client().get("/api/me?access_token=" + token())
    assert response.status_code == 400
    assert 'error="invalid_request"' in response["WWW-Authenticate"]
