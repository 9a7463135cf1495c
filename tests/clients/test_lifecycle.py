"""SECURITY.md item 4: deleting a client, by any path, revokes its tokens first."""

import pytest

from oauth_provider.models import AccessToken, Application, RefreshToken
from oauth_provider.tokens.issue import issue_access_token
from oauth_provider.tokens.revocation import is_jti_revoked
from tests.factories import ApplicationFactory, UserFactory
from tests.helpers.flows import obtain_code, redeem, token_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_deleting_a_client_marks_its_access_tokens_revoked_for_resource_servers():
    application = ApplicationFactory()
    issued = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
    application.delete()
    assert not AccessToken.objects.exists()
    assert is_jti_revoked(issued.record.jti)


def test_deleting_a_client_in_the_admin_revokes_its_tokens(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    application = ApplicationFactory()
    issued = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
    response = client.post(f"/admin/oauth_provider/application/{application.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Application.objects.filter(pk=application.pk).exists()
    assert is_jti_revoked(issued.record.jti)


def test_other_clients_tokens_are_untouched():
    doomed, other = ApplicationFactory(), ApplicationFactory()
    kept = issue_access_token(application=other, scope=["read"], grant_type="client_credentials")
    doomed.delete()
    assert not is_jti_revoked(kept.record.jti)
    assert AccessToken.objects.get(pk=kept.record.pk).revoked_at is None


@pytest.mark.security("S4")
def test_deactivating_a_client_revokes_its_tokens_at_once(
    client, user_client, web_app, django_capture_on_commit_callbacks
):
    body = redeem(client, web_app, obtain_code(user_client, web_app)).json()
    jti = AccessToken.objects.get().jti
    web_app.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        web_app.save()
    assert AccessToken.objects.get().revoked_at is not None
    assert RefreshToken.objects.get().revoked_at is not None
    assert is_jti_revoked(jti)
    refresh = token_request(client, web_app, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refresh.status_code == 401


@pytest.mark.security("S4")
def test_deleting_a_client_after_its_token_request_publishes_the_token_as_revoked(
    client, application, django_capture_on_commit_callbacks
):
    token_request(client, application, {"grant_type": "client_credentials"})
    jti = AccessToken.objects.get().jti
    with django_capture_on_commit_callbacks(execute=True):
        application.delete()
    assert is_jti_revoked(jti)
