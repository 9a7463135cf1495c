"""docs/SECURITY.md S4: deactivating or deleting a client, by any path, revokes all its tokens at once and
records one audit event with the true counts (clients/lifecycle.py, and its safety net in receivers.py)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from oauth_provider import audit, crypto
from oauth_provider.clients import lifecycle
from oauth_provider.models import AccessToken, Application, AuditEvent, RefreshToken
from oauth_provider.tokens.issue import issue_access_token, issue_refresh_token
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


# --- one path, one audit event, the true counts (clients/lifecycle.py) ------------------------------

CLIENTS = "/admin/oauth_provider/application/"


class Tokens:
    """Live and dead tokens of one client: 3 live access tokens (2 issued from refresh tokens), 2 live
    refresh tokens; plus one revoked and one expired access token and one revoked refresh token, which a
    revocation must neither touch nor count."""

    LIVE_ACCESS, LIVE_REFRESH = 3, 2

    def __init__(self, application):
        user = UserFactory()
        first = issue_refresh_token(application=application, user=user, scope="read").record
        second = issue_refresh_token(application=application, user=user, scope="read").record
        self.live_jtis = [
            issue_access_token(application=application, user=user, scope=["read"], grant_type="refresh_token",
                               refresh_token=refresh).record.jti
            for refresh in (first, second)
        ] + [issue_access_token(application=application, scope=["read"], grant_type="client_credentials").record.jti]
        revoked = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
        expired = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
        dead_refresh = issue_refresh_token(application=application, user=user, scope="read").record
        self.long_ago = timezone.now() - timedelta(days=3)
        AccessToken.objects.filter(pk=revoked.record.pk).update(revoked_at=self.long_ago)
        AccessToken.objects.filter(pk=expired.record.pk).update(expires_at=self.long_ago)
        RefreshToken.objects.filter(pk=dead_refresh.pk).update(revoked_at=self.long_ago)
        self.application = application
        self.dead_jtis = [revoked.record.jti, expired.record.jti]

    def assert_all_revoked(self, *, rows_deleted=False):
        for jti in self.live_jtis:
            assert is_jti_revoked(jti)
        for jti in self.dead_jtis:
            assert not is_jti_revoked(jti)  # never live: nothing to publish
        if rows_deleted:
            assert not AccessToken.objects.exists() and not RefreshToken.objects.exists()
            return
        assert not AccessToken.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now()).exists()
        assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()
        # The tokens that were already dead keep their original revocation time.
        assert AccessToken.objects.filter(revoked_at=self.long_ago).count() == 1
        assert RefreshToken.objects.filter(revoked_at=self.long_ago).count() == 1


def new_events(before: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=before).order_by("pk"))


def last_event_pk() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.fixture
def admin(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_admin_form_deactivation_records_one_event_with_the_true_counts(client, admin):
    tokens = Tokens(ApplicationFactory(name="Billing"))
    before = last_event_pk()
    form = {"name": "Billing renamed", "client_type": "confidential", "grant_types": ["client_credentials"],
            "redirect_uris": "", "allowed_scopes": "read", "default_scopes": "read", "allowed_origins": ""}
    response = client.post(f"{CLIENTS}{tokens.application.pk}/change/", form)  # "is_active" unticked
    assert response.status_code == 302
    [event] = new_events(before)
    assert (event.event, event.user, event.application) == (audit.CLIENT_DEACTIVATED, admin, tokens.application)
    assert event.details == {"source": "admin", "access_tokens_revoked": Tokens.LIVE_ACCESS,
                             "refresh_tokens_revoked": Tokens.LIVE_REFRESH}
    tokens.assert_all_revoked()
    application = Application.objects.get()
    assert (application.is_active, application.name) == (False, "Billing renamed")  # the form's changes saved


def test_admin_action_deactivation_records_one_event_with_the_true_counts(client, admin):
    tokens = Tokens(ApplicationFactory())
    before = last_event_pk()
    response = client.post(CLIENTS, {"action": "deactivate", "_selected_action": [tokens.application.pk]})
    assert response.status_code == 302
    [event] = new_events(before)
    assert (event.event, event.user) == (audit.CLIENT_DEACTIVATED, admin)
    assert event.details == {"source": "admin", "access_tokens_revoked": Tokens.LIVE_ACCESS,
                             "refresh_tokens_revoked": Tokens.LIVE_REFRESH}
    tokens.assert_all_revoked()
    assert not Application.objects.get().is_active


def test_registration_delete_records_one_event_with_the_true_counts(client):
    application = ApplicationFactory()
    registration_token = crypto.generate_secret()
    application.registration_access_token_digest = crypto.digest(registration_token)
    application.save()
    tokens = Tokens(application)
    before = last_event_pk()
    response = client.delete(reverse("oauth_provider:client_configuration", args=[application.client_id]),
                             HTTP_AUTHORIZATION=f"Bearer {registration_token}")
    assert response.status_code == 204
    [event] = new_events(before)
    assert (event.event, event.client_id, event.application) == (audit.CLIENT_DELETED, application.client_id, None)
    assert event.details == {"source": "registration", "revoked_access_tokens": Tokens.LIVE_ACCESS,
                             "revoked_refresh_tokens": Tokens.LIVE_REFRESH}
    tokens.assert_all_revoked(rows_deleted=True)
    assert not Application.objects.exists()


def test_admin_delete_records_one_event_with_the_true_counts(client, admin):
    tokens = Tokens(ApplicationFactory())
    before = last_event_pk()
    response = client.post(f"{CLIENTS}{tokens.application.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    [event] = new_events(before)
    assert (event.event, event.user, event.client_id) == (
        audit.TOKENS_REVOKED_BY_ADMIN, admin, tokens.application.client_id)
    assert event.details == {"source": "admin", "access_tokens_revoked": Tokens.LIVE_ACCESS,
                             "refresh_tokens_revoked": Tokens.LIVE_REFRESH}
    tokens.assert_all_revoked(rows_deleted=True)
    assert not Application.objects.exists()


def test_admin_bulk_delete_records_one_event_per_client_with_its_true_counts(client, admin):
    first, second = Tokens(ApplicationFactory()), Tokens(ApplicationFactory())
    AccessToken.objects.filter(jti=second.live_jtis[-1]).update(revoked_at=timezone.now())  # one fewer live
    second.dead_jtis.append(second.live_jtis.pop())
    before = last_event_pk()
    response = client.post(CLIENTS, {"action": "delete_selected", "post": "yes",
                                     "_selected_action": [first.application.pk, second.application.pk]})
    assert response.status_code == 302
    events = {event.client_id: event for event in new_events(before)}
    assert len(new_events(before)) == 2
    assert events[first.application.client_id].details["access_tokens_revoked"] == Tokens.LIVE_ACCESS
    assert events[second.application.client_id].details["access_tokens_revoked"] == Tokens.LIVE_ACCESS - 1
    for event in events.values():
        assert (event.event, event.user, event.details["refresh_tokens_revoked"]) == (
            audit.TOKENS_REVOKED_BY_ADMIN, admin, Tokens.LIVE_REFRESH)
    first.assert_all_revoked(rows_deleted=True)
    for jti in second.live_jtis:
        assert is_jti_revoked(jti)
    assert not Application.objects.exists()


# --- the safety net (receivers.py) -------------------------------------------------------------------


def test_a_direct_save_of_an_inactive_client_revokes_everything_and_records_one_event():
    tokens = Tokens(ApplicationFactory())
    before = last_event_pk()
    application = Application.objects.get()
    application.is_active = False
    application.save()
    [event] = new_events(before)
    assert (event.event, event.user, event.application) == (audit.CLIENT_DEACTIVATED, None, application)
    assert event.details == {"source": "model", "access_tokens_revoked": Tokens.LIVE_ACCESS,
                             "refresh_tokens_revoked": Tokens.LIVE_REFRESH}
    tokens.assert_all_revoked()
    assert not Application.objects.get().is_active


def test_a_direct_save_with_update_fields_is_active_is_caught_too():
    tokens = Tokens(ApplicationFactory())
    before = last_event_pk()
    tokens.application.is_active = False
    tokens.application.save(update_fields=["is_active"])
    assert [event.event for event in new_events(before)] == [audit.CLIENT_DEACTIVATED]
    tokens.assert_all_revoked()


def test_saving_a_client_that_is_already_inactive_records_nothing_and_revokes_nothing():
    application = ApplicationFactory()
    application.is_active = False
    application.save()
    later = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
    before = last_event_pk()
    application.name = "Renamed while inactive"
    application.save()
    assert new_events(before) == []
    assert AccessToken.objects.get(pk=later.record.pk).revoked_at is None


def test_a_stale_inactive_instance_saving_other_fields_does_not_deactivate_the_client():
    application = ApplicationFactory()
    stale = Application.objects.get()
    stale.is_active = False  # what it was when loaded, say; the row was reactivated since
    kept = issue_access_token(application=application, scope=["read"], grant_type="client_credentials")
    stale.name = "Only the name"
    stale.save(update_fields=["name"])
    assert Application.objects.get().is_active
    assert AccessToken.objects.get(pk=kept.record.pk).revoked_at is None
    assert not AuditEvent.objects.filter(event=audit.CLIENT_DEACTIVATED).exists()


def test_creating_an_inactive_client_records_nothing():
    before = last_event_pk()
    ApplicationFactory(is_active=False)
    assert new_events(before) == []


def test_a_direct_delete_revokes_everything_and_records_one_event():
    tokens = Tokens(ApplicationFactory())
    before = last_event_pk()
    client_id = tokens.application.client_id
    Application.objects.get().delete()
    [event] = new_events(before)
    assert (event.event, event.client_id, event.user) == (audit.CLIENT_DELETED, client_id, None)
    assert event.details == {"source": "model", "revoked_access_tokens": Tokens.LIVE_ACCESS,
                             "revoked_refresh_tokens": Tokens.LIVE_REFRESH}
    tokens.assert_all_revoked(rows_deleted=True)


def test_a_queryset_delete_records_one_event_per_client():
    first, second = Tokens(ApplicationFactory()), Tokens(ApplicationFactory())
    before = last_event_pk()
    Application.objects.all().delete()
    events = new_events(before)
    assert sorted(event.client_id for event in events) == sorted(
        [first.application.client_id, second.application.client_id])
    assert {(event.event, event.details["revoked_access_tokens"]) for event in events} == {
        (audit.CLIENT_DELETED, Tokens.LIVE_ACCESS)}
    first.assert_all_revoked(rows_deleted=True)
    second.assert_all_revoked(rows_deleted=True)


# --- lifecycle functions ----------------------------------------------------------------------------


def test_deactivating_twice_revokes_and_audits_once():
    tokens = Tokens(ApplicationFactory())
    other_view = Application.objects.get()
    assert lifecycle.deactivate_client(tokens.application, source="admin") == (Tokens.LIVE_ACCESS,
                                                                                Tokens.LIVE_REFRESH)
    assert lifecycle.deactivate_client(other_view, source="admin") is None
    assert other_view.is_active is False
    assert AuditEvent.objects.filter(event=audit.CLIENT_DEACTIVATED).count() == 1


def test_deactivation_does_not_write_other_unsaved_changes():
    application = ApplicationFactory(name="Before")
    application.name = "Unsaved"
    lifecycle.deactivate_client(application, source="admin")
    assert Application.objects.get().name == "Before"


def test_deleting_a_client_that_is_gone_does_nothing():
    application = ApplicationFactory()
    other_view = Application.objects.get()
    assert lifecycle.delete_client(application, source="registration") == (0, 0)
    assert lifecycle.delete_client(other_view, source="registration") is None
    assert AuditEvent.objects.filter(event=audit.CLIENT_DELETED).count() == 1


def test_a_failed_delete_leaves_no_mark_so_a_later_plain_delete_still_revokes(monkeypatch):
    tokens = Tokens(ApplicationFactory())
    application = tokens.application
    before = last_event_pk()

    def failing_delete(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(application, "delete", failing_delete)
    with pytest.raises(RuntimeError):
        lifecycle.delete_client(application, source="admin")
    monkeypatch.undo()
    assert not lifecycle.deletion_recorded(application)
    assert new_events(before) == []  # rolled back with the deletion
    assert AccessToken.objects.filter(revoked_at__isnull=True).count() == Tokens.LIVE_ACCESS + 1
    application.delete()
    [event] = new_events(before)
    assert (event.event, event.details["revoked_access_tokens"]) == (audit.CLIENT_DELETED, Tokens.LIVE_ACCESS)
    tokens.assert_all_revoked(rows_deleted=True)


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
