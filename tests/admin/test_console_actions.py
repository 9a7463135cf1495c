"""The admin as the client console: activity columns, filters, actions, permissions, no secret anywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.utils import timezone

from oauth_provider import audit, signals
from oauth_provider.models import (
    AccessToken,
    Application,
    AuditEvent,
    AuthorizationCode,
    DeviceCode,
    GrantType,
    RefreshToken,
)
from oauth_provider.tokens import revocation
from oauth_provider.tokens.issue import issue_access_token, issue_refresh_token
from tests.factories import ApplicationFactory, PublicApplicationFactory, UserFactory, WebApplicationFactory
from tests.helpers.flows import token_request

pytestmark = pytest.mark.django_db

CLIENTS = "/admin/oauth_provider/application/"
ACCESS_TOKENS = "/admin/oauth_provider/accesstoken/"
REFRESH_TOKENS = "/admin/oauth_provider/refreshtoken/"
CODES = "/admin/oauth_provider/authorizationcode/"
AUDIT = "/admin/oauth_provider/auditevent/"
DEVICE_CODES = "/admin/oauth_provider/devicecode/"


def staff_with(client, *codenames: str):
    """Log in a staff user (not superuser) holding exactly these oauth_provider permissions."""
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="oauth_provider",
                                                        codename__in=codenames))
    client.force_login(user)
    return user


def tokens_for(application, user=None):
    """One refresh token and one access token issued from it."""
    refresh = issue_refresh_token(application=application, user=user, scope="read")
    access = issue_access_token(application=application, user=user, scope=["read"], grant_type="refresh_token",
                                refresh_token=refresh.record)
    return access.record, refresh.record


def listed(response) -> list:
    return list(response.context["cl"].result_list)


def run_action(client, url: str, action: str, *objects):
    return client.post(url, {"action": action, "_selected_action": [obj.pk for obj in objects]})


# --- client list ----------------------------------------------------------------------------


def test_client_list_shows_last_token_and_tokens_of_the_last_24_hours(admin_client):
    application = ApplicationFactory()
    now = timezone.now()
    for event, age in [(audit.TOKEN_ISSUED, 1), (audit.CODE_REDEEMED, 2), (audit.REFRESH_TOKEN_ROTATED, 23),
                       (audit.TOKEN_ISSUED, 25), (audit.CLIENT_AUTH_FAILED, 0)]:
        AuditEvent.objects.create(event=event, application=application, client_id=application.client_id,
                                  created_at=now - timedelta(hours=age))
    (row,) = listed(admin_client.get(CLIENTS))
    assert row.tokens_24h == 3
    assert row.last_token_at == AuditEvent.objects.filter(event=audit.TOKEN_ISSUED).latest("created_at").created_at


def test_client_without_tokens_lists_zero_and_no_last_token(admin_client):
    ApplicationFactory()
    (row,) = listed(admin_client.get(CLIENTS))
    assert (row.tokens_24h, row.last_token_at) == (0, None)


def test_client_list_query_count_does_not_grow_with_clients(admin_client, django_assert_num_queries):
    for _ in range(6):
        application = ApplicationFactory()
        audit.record(audit.TOKEN_ISSUED, application=application, grant_type="client_credentials")
    # session, user, count (filtered), count (full), the annotated page
    with django_assert_num_queries(5):
        response = admin_client.get(CLIENTS)
    assert len(listed(response)) == 6


def test_client_search_by_name_and_client_id(admin_client):
    billing = ApplicationFactory(name="Billing")
    ApplicationFactory(name="Reports")
    assert listed(admin_client.get(CLIENTS, {"q": "Billing"})) == [billing]
    assert listed(admin_client.get(CLIENTS, {"q": billing.client_id})) == [billing]


def test_client_filter_by_type(admin_client):
    public = PublicApplicationFactory()
    ApplicationFactory()
    assert listed(admin_client.get(CLIENTS, {"client_type__exact": "public"})) == [public]


@pytest.mark.parametrize("grant", [GrantType.CLIENT_CREDENTIALS, GrantType.AUTHORIZATION_CODE,
                                   GrantType.REFRESH_TOKEN, GrantType.PASSWORD])
def test_client_filter_by_grant_type(admin_client, grant):
    service = ApplicationFactory(grant_types=[GrantType.CLIENT_CREDENTIALS])
    web = WebApplicationFactory(grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN])
    legacy = ApplicationFactory(grant_types=[GrantType.PASSWORD])
    expected = {GrantType.CLIENT_CREDENTIALS: [service], GrantType.AUTHORIZATION_CODE: [web],
                GrantType.REFRESH_TOKEN: [web], GrantType.PASSWORD: [legacy]}[grant]
    assert listed(admin_client.get(CLIENTS, {"grant_type": grant})) == expected


def test_grant_filter_matches_whole_grant_names_only(admin_client):
    ApplicationFactory(grant_types=[GrantType.AUTHORIZATION_CODE])
    assert listed(admin_client.get(CLIENTS, {"grant_type": GrantType.IMPLICIT})) == []


def test_client_filter_by_active(admin_client):
    ApplicationFactory()
    inactive = ApplicationFactory(is_active=False)
    assert listed(admin_client.get(CLIENTS, {"is_active__exact": "0"})) == [inactive]


# --- forms ------------------------------------------------------------------------------------


def client_form(**overrides):
    data = {"name": "Billing", "client_type": "confidential", "grant_types": ["client_credentials"],
            "redirect_uris": "", "allowed_scopes": "read", "default_scopes": "read", "require_pkce": "on",
            "allowed_origins": "", "is_active": "on"}
    data.update(overrides)
    return data


def test_form_refuses_scopes_the_server_does_not_know(admin_client):
    response = admin_client.post(CLIENTS + "add/", client_form(allowed_scopes="read launch-missiles"))
    assert "Unknown scopes: launch-missiles" in response.content.decode()
    assert not Application.objects.exists()


def test_form_refuses_a_redirect_uri_with_a_fragment(admin_client):
    response = admin_client.post(CLIENTS + "add/", client_form(grant_types=["authorization_code"],
                                                               redirect_uris="https://app.example.test/cb#x"))
    assert "fragment" in response.content.decode()
    assert not Application.objects.exists()


def test_form_names_the_server_scopes_and_flags_legacy_grants(admin_client):
    page = admin_client.get(CLIENTS + "add/").content.decode()
    assert "scopes: read, write, admin." in page
    assert "legacy opt-ins" in page


def test_saving_a_client_with_a_legacy_grant_warns(admin_client):
    response = admin_client.post(CLIENTS + "add/", client_form(grant_types=["password"]), follow=True)
    assert "Billing may use the legacy grant(s) password" in response.content.decode()


# --- client actions ---------------------------------------------------------------------------


def test_revoke_all_tokens_revokes_access_and_refresh_tokens_and_publishes_jtis(
    admin_client, django_capture_on_commit_callbacks
):
    application = ApplicationFactory()
    access, refresh = tokens_for(application)
    other_access, _ = tokens_for(ApplicationFactory())
    with django_capture_on_commit_callbacks(execute=True):
        run_action(admin_client, CLIENTS, "revoke_all_tokens", application)
    access.refresh_from_db()
    refresh.refresh_from_db()
    assert access.revoked_at and refresh.revoked_at
    assert revocation.is_jti_revoked(access.jti)
    assert not revocation.is_jti_revoked(other_access.jti)


def test_revoke_all_tokens_is_audited_with_the_acting_admin(admin_client, admin_user):
    application = ApplicationFactory()
    tokens_for(application)
    run_action(admin_client, CLIENTS, "revoke_all_tokens", application)
    event = AuditEvent.objects.get(event=audit.TOKENS_REVOKED_BY_ADMIN)
    assert (event.user, event.application) == (admin_user, application)
    assert event.details["access_tokens_revoked"] == 1 and event.details["refresh_tokens_revoked"] == 1


def test_deactivate_revokes_tokens_at_once(admin_client, django_capture_on_commit_callbacks):
    application = ApplicationFactory()
    access, refresh = tokens_for(application)
    with django_capture_on_commit_callbacks(execute=True):
        run_action(admin_client, CLIENTS, "deactivate", application)
    application.refresh_from_db()
    refresh.refresh_from_db()
    assert not application.is_active
    assert refresh.revoked_at is not None
    assert revocation.is_jti_revoked(access.jti)


def test_deactivated_client_cannot_get_tokens(admin_client, client):
    application = ApplicationFactory()
    run_action(admin_client, CLIENTS, "deactivate", application)
    assert token_request(client, application, {"grant_type": "client_credentials"}).status_code == 401


def test_deactivation_is_audited_with_the_acting_admin(admin_client, admin_user):
    application = ApplicationFactory()
    run_action(admin_client, CLIENTS, "deactivate", application)
    event = AuditEvent.objects.get(event=audit.CLIENT_DEACTIVATED)
    assert (event.user, event.application) == (admin_user, application)


def test_reactivate_makes_the_client_active_and_is_audited(admin_client, admin_user):
    application = ApplicationFactory(is_active=False)
    run_action(admin_client, CLIENTS, "reactivate", application)
    application.refresh_from_db()
    assert application.is_active
    assert AuditEvent.objects.get(event=audit.CLIENT_REACTIVATED).user == admin_user


def test_unticking_active_in_the_form_revokes_like_the_action(admin_client, admin_user):
    application = ApplicationFactory(name="Billing")
    _, refresh = tokens_for(application)
    form = client_form()
    del form["is_active"]
    response = admin_client.post(f"{CLIENTS}{application.pk}/change/", form)
    assert response.status_code == 302
    refresh.refresh_from_db()
    assert refresh.revoked_at is not None
    assert AuditEvent.objects.get(event=audit.CLIENT_DEACTIVATED).user == admin_user


def test_deleting_a_client_revokes_its_tokens_first(admin_client, admin_user, django_capture_on_commit_callbacks):
    application = ApplicationFactory()
    access, _ = tokens_for(application)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{CLIENTS}{application.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Application.objects.exists()
    assert revocation.is_jti_revoked(access.jti)
    event = AuditEvent.objects.get(event=audit.TOKENS_REVOKED_BY_ADMIN)
    assert (event.client_id, event.user) == (application.client_id, admin_user)


def test_bulk_deleting_clients_revokes_their_tokens_first(admin_client, django_capture_on_commit_callbacks):
    first, second = ApplicationFactory(), ApplicationFactory()
    tokens = [tokens_for(first)[0], tokens_for(second)[0]]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CLIENTS, {"action": "delete_selected", "_selected_action": [first.pk, second.pk],
                                    "post": "yes"})
    assert not Application.objects.exists()
    assert all(revocation.is_jti_revoked(token.jti) for token in tokens)


def test_rotating_a_secret_is_audited_with_the_acting_admin(admin_client, admin_user):
    application = ApplicationFactory()
    run_action(admin_client, CLIENTS, "rotate_secret", application)
    assert AuditEvent.objects.get(event=audit.CLIENT_SECRET_ROTATED).user == admin_user


# --- token tables -----------------------------------------------------------------------------


def test_revoke_selected_access_tokens(admin_client, admin_user, django_capture_on_commit_callbacks):
    application = ApplicationFactory()
    chosen, _ = tokens_for(application)
    kept, _ = tokens_for(application)
    with django_capture_on_commit_callbacks(execute=True):
        run_action(admin_client, ACCESS_TOKENS, "revoke_access_tokens", chosen)
    chosen.refresh_from_db()
    kept.refresh_from_db()
    assert chosen.revoked_at and not kept.revoked_at
    assert revocation.is_jti_revoked(chosen.jti)
    event = AuditEvent.objects.get(event=audit.TOKENS_REVOKED_BY_ADMIN)
    assert event.user == admin_user and event.details["jtis"] == [chosen.jti]


def test_revoke_selected_refresh_token_revokes_its_family(admin_client, admin_user):
    application = ApplicationFactory()
    access, first = tokens_for(application)
    rotated = issue_refresh_token(application=application, user=None, scope="read", parent=first).record
    _, other = tokens_for(application)
    run_action(admin_client, REFRESH_TOKENS, "revoke_refresh_tokens", first)
    assert RefreshToken.objects.filter(family_id=first.family_id, revoked_at__isnull=True).count() == 0
    assert RefreshToken.objects.get(pk=rotated.pk).revoked_at is not None
    assert AccessToken.objects.get(pk=access.pk).revoked_at is not None
    assert RefreshToken.objects.get(pk=other.pk).revoked_at is None
    assert AuditEvent.objects.get(event=audit.TOKENS_REVOKED_BY_ADMIN).user == admin_user


def test_access_token_state_filter(admin_client):
    application = ApplicationFactory()
    active, _ = tokens_for(application)
    expired, _ = tokens_for(application)
    revoked, _ = tokens_for(application)
    AccessToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    AccessToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    for state, expected in [("active", active), ("expired", expired), ("revoked", revoked)]:
        assert [t.pk for t in listed(admin_client.get(ACCESS_TOKENS, {"state": state}))] == [expected.pk]


def test_refresh_token_state_filter_knows_used_tokens(admin_client):
    application = ApplicationFactory()
    _, used = tokens_for(application)
    _, active = tokens_for(application)
    RefreshToken.objects.filter(pk=used.pk).update(used_at=timezone.now())
    assert [t.pk for t in listed(admin_client.get(REFRESH_TOKENS, {"state": "used"}))] == [used.pk]
    assert [t.pk for t in listed(admin_client.get(REFRESH_TOKENS, {"state": "active"}))] == [active.pk]


def test_code_state_filter(admin_client, user):
    application = WebApplicationFactory()
    now = timezone.now()
    live = AuthorizationCode.objects.create(code_digest="a" * 64, application=application, user=user,
                                            expires_at=now + timedelta(seconds=60))
    AuthorizationCode.objects.create(code_digest="b" * 64, application=application, user=user,
                                     expires_at=now + timedelta(seconds=60), used_at=now)
    assert listed(admin_client.get(CODES, {"state": "active"})) == [live]


def test_token_tables_filter_by_client_and_user(admin_client):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    first, second = ApplicationFactory(), ApplicationFactory()
    mine, _ = tokens_for(first, alice)
    tokens_for(second, bob)
    assert [t.pk for t in listed(admin_client.get(ACCESS_TOKENS, {"application__id__exact": first.pk}))] == [mine.pk]
    assert [t.pk for t in listed(admin_client.get(ACCESS_TOKENS, {"username": "alice"}))] == [mine.pk]
    assert len(listed(admin_client.get(REFRESH_TOKENS, {"username": "bob"}))) == 1


def test_device_codes_filter_by_status_and_user(admin_client):
    alice = UserFactory(username="alice")
    application = ApplicationFactory()
    expires = timezone.now() + timedelta(seconds=600)
    approved = DeviceCode.objects.create(device_code_digest="a" * 64, user_code="BCDFGHJK", application=application,
                                         user=alice, status="approved", expires_at=expires)
    DeviceCode.objects.create(device_code_digest="b" * 64, user_code="LMNPQRST", application=application,
                              expires_at=expires)
    assert listed(admin_client.get(DEVICE_CODES, {"status__exact": "approved"})) == [approved]
    assert listed(admin_client.get(DEVICE_CODES, {"username": "alice"})) == [approved]


def test_token_tables_are_read_only(admin_client):
    access, _ = tokens_for(ApplicationFactory())
    assert admin_client.get(ACCESS_TOKENS + "add/").status_code == 403
    response = admin_client.post(f"{ACCESS_TOKENS}{access.pk}/change/", {"scope": "admin"})
    assert response.status_code == 403
    access.refresh_from_db()
    assert access.scope == "read"


# --- permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [CLIENTS, ACCESS_TOKENS, REFRESH_TOKENS, CODES, AUDIT, DEVICE_CODES,
                                 "/admin/oauth_provider/activitydashboard/"])
def test_staff_without_permissions_gets_403(client, url):
    staff_with(client)
    assert client.get(url).status_code == 403


def test_non_staff_user_is_sent_to_the_admin_login(client, user):
    client.force_login(user)
    response = client.get(CLIENTS)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("action", ["revoke_all_tokens", "deactivate", "rotate_secret"])
def test_view_only_staff_cannot_run_client_actions(client, action):
    staff_with(client, "view_application")
    application = ApplicationFactory()
    _, refresh = tokens_for(application)
    assert client.get(CLIENTS).status_code == 200
    run_action(client, CLIENTS, action, application)
    application.refresh_from_db()
    refresh.refresh_from_db()
    assert application.is_active and refresh.revoked_at is None
    assert application.check_secret(application.secret)
    assert not AuditEvent.objects.filter(user__isnull=False).exists()


def test_view_only_staff_cannot_revoke_access_tokens(client):
    staff_with(client, "view_accesstoken")
    access, _ = tokens_for(ApplicationFactory())
    response = client.get(ACCESS_TOKENS)
    assert "revoke_access_tokens" not in response.content.decode()
    run_action(client, ACCESS_TOKENS, "revoke_access_tokens", access)
    access.refresh_from_db()
    assert access.revoked_at is None


def test_staff_with_change_permission_can_revoke_access_tokens(client):
    staff_with(client, "view_accesstoken", "change_accesstoken")
    access, _ = tokens_for(ApplicationFactory())
    run_action(client, ACCESS_TOKENS, "revoke_access_tokens", access)
    access.refresh_from_db()
    assert access.revoked_at is not None


# --- no secret anywhere -----------------------------------------------------------------------


def test_no_digest_or_secret_appears_on_any_admin_page(admin_client, user):
    from oauth_provider.keys.store import get_signing_key
    from oauth_provider.models import Consent, SigningKey

    application = WebApplicationFactory()
    access, refresh = tokens_for(application, user)
    code = AuthorizationCode.objects.create(code_digest="c" * 64, application=application, user=user,
                                            code_challenge="challenge-value-" + "z" * 30,
                                            expires_at=timezone.now() + timedelta(seconds=60))
    Consent.objects.create(user=user, application=application, scope="read")
    device = DeviceCode.objects.create(device_code_digest="d" * 64, user_code="BCDFGHJK", application=application,
                                       user=user, expires_at=timezone.now() + timedelta(seconds=600))
    get_signing_key()
    audit.record(audit.TOKEN_ISSUED, application=application, grant_type="client_credentials", jti=access.jti)
    forbidden = [application.secret, application.client_secret_digest, refresh.token_digest, code.code_digest,
                 code.code_challenge, SigningKey.objects.get().private_key_encrypted, device.device_code_digest,
                 device.user_code, "BCDF-GHJK"]
    pages = []
    for model in admin.site._registry:
        if model._meta.app_label != "oauth_provider":
            continue
        base = f"/admin/oauth_provider/{model._meta.model_name}/"
        pages.append(base)
        if model._meta.proxy:
            continue  # the dashboard: no pages per row
        pages += [f"{base}{pk}/change/" for pk in model._default_manager.values_list("pk", flat=True)[:3]]
    assert len(pages) > 10
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        leaked = [value for value in forbidden if value in body]
        assert leaked == [], url


# --- audit trail ------------------------------------------------------------------------------


def test_audit_filters_by_event_client_user_and_date(admin_client):
    alice = UserFactory(username="alice")
    application = ApplicationFactory()
    issued = AuditEvent.objects.create(event=audit.TOKEN_ISSUED, application=application,
                                       client_id=application.client_id, user=alice)
    AuditEvent.objects.create(event=audit.CLIENT_AUTH_FAILED, client_id="nobody",
                              created_at=timezone.now() - timedelta(days=40))
    assert listed(admin_client.get(AUDIT, {"event": audit.TOKEN_ISSUED})) == [issued]
    assert listed(admin_client.get(AUDIT, {"application__id__exact": application.pk})) == [issued]
    assert listed(admin_client.get(AUDIT, {"username": "alice"})) == [issued]
    since = (timezone.now() - timedelta(days=7)).isoformat()
    assert listed(admin_client.get(AUDIT, {"created_at__gte": since})) == [issued]


def test_audit_event_filter_lists_every_event_name_of_audit_py(admin_client):
    page = admin_client.get(AUDIT).content.decode()
    for name in (audit.TOKEN_ISSUED, audit.REFRESH_TOKEN_REUSED, audit.CLIENT_DEACTIVATED):
        assert f"?event={name}" in page


def test_audit_search_by_client_id_and_username(admin_client):
    alice = UserFactory(username="alice")
    mine = AuditEvent.objects.create(event=audit.CONSENT_GRANTED, client_id="app-1", user=alice)
    AuditEvent.objects.create(event=audit.CONSENT_GRANTED, client_id="app-2")
    assert listed(admin_client.get(AUDIT, {"q": "app-1"})) == [mine]
    assert listed(admin_client.get(AUDIT, {"q": "alice"})) == [mine]


def test_audit_details_are_shown_as_readable_json(admin_client):
    event = AuditEvent.objects.create(event=audit.CLIENT_AUTH_FAILED, client_id="x",
                                      details={"reason": "wrong_secret", "method": "client_secret_basic"})
    page = admin_client.get(f"{AUDIT}{event.pk}/change/").content.decode()
    assert "<pre>{\n  &quot;method&quot;: &quot;client_secret_basic&quot;,\n  &quot;reason&quot;" in page


def test_audit_events_cannot_be_changed(admin_client):
    event = AuditEvent.objects.create(event=audit.TOKEN_ISSUED, client_id="x")
    assert admin_client.post(f"{AUDIT}{event.pk}/change/", {"event": "nothing"}).status_code == 403


# --- signals ----------------------------------------------------------------------------------


def test_token_issued_signal_fires_with_the_audit_event(client):
    application = ApplicationFactory()
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    signals.token_issued.connect(receiver)
    try:
        assert token_request(client, application, {"grant_type": "client_credentials"}).status_code == 200
    finally:
        signals.token_issued.disconnect(receiver)
    assert [(r["event"], r["application"], r["details"]["grant_type"]) for r in received] == [
        (audit.TOKEN_ISSUED, application, "client_credentials")
    ]


def test_admin_revocation_sends_token_revoked(admin_client):
    application = ApplicationFactory()
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs["event"])

    signals.token_revoked.connect(receiver)
    try:
        run_action(admin_client, CLIENTS, "revoke_all_tokens", application)
    finally:
        signals.token_revoked.disconnect(receiver)
    assert received == [audit.TOKENS_REVOKED_BY_ADMIN]


def test_a_failing_receiver_never_breaks_the_request(client):
    application = ApplicationFactory()

    def broken(sender, **kwargs):
        raise RuntimeError("integrator bug")

    signals.event_recorded.connect(broken)
    try:
        assert token_request(client, application, {"grant_type": "client_credentials"}).status_code == 200
    finally:
        signals.event_recorded.disconnect(broken)


# --- a changed client loses what the old one was given (docs/SECURITY.md S28) -------------------------


def web_client_form(application, **overrides):
    form = client_form(name=application.name, grant_types=["authorization_code"],
                       redirect_uris=application.redirect_uris, allowed_scopes=application.allowed_scopes,
                       default_scopes=application.default_scopes)
    if application.skip_consent:
        form["skip_consent"] = "on"
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


@pytest.mark.security("S28")
def test_changing_the_redirect_uris_in_the_admin_drops_consents_and_skip_consent(admin_client):
    from oauth_provider.models import Consent

    application = WebApplicationFactory(skip_consent=True, allowed_scopes="read", default_scopes="read")
    Consent.objects.create(user=UserFactory(), application=application, scope="read")
    response = admin_client.post(f"{CLIENTS}{application.pk}/change/",
                                 web_client_form(application, redirect_uris="https://moved.example.test/cb"))
    assert response.status_code == 302, response.content
    application.refresh_from_db()
    assert application.redirect_uri_list == ["https://moved.example.test/cb"]
    assert not Consent.objects.exists()
    assert application.skip_consent is False


def test_an_admin_who_re_ticks_skip_consent_with_the_change_keeps_it(admin_client):
    from oauth_provider.models import Consent

    application = WebApplicationFactory(skip_consent=False, allowed_scopes="read", default_scopes="read")
    Consent.objects.create(user=UserFactory(), application=application, scope="read")
    form = web_client_form(application, allowed_scopes="read write", skip_consent="on")
    assert admin_client.post(f"{CLIENTS}{application.pk}/change/", form).status_code == 302
    application.refresh_from_db()
    assert application.skip_consent is True
    assert not Consent.objects.exists()


def test_renaming_a_client_in_the_admin_keeps_consents_and_skip_consent(admin_client):
    from oauth_provider.models import Consent

    application = WebApplicationFactory(skip_consent=True, allowed_scopes="read", default_scopes="read")
    Consent.objects.create(user=UserFactory(), application=application, scope="read")
    assert admin_client.post(f"{CLIENTS}{application.pk}/change/",
                             web_client_form(application, name="Renamed")).status_code == 302
    application.refresh_from_db()
    assert application.skip_consent is True and Consent.objects.count() == 1


@pytest.mark.security("S28")
def test_turning_a_client_public_in_the_admin_drops_its_consents_and_skip_consent(admin_client):
    from oauth_provider.models import Consent

    application = WebApplicationFactory(skip_consent=True, allowed_scopes="read", default_scopes="read")
    Consent.objects.create(user=UserFactory(), application=application, scope="read")
    response = admin_client.post(f"{CLIENTS}{application.pk}/change/",
                                 web_client_form(application, client_type="public"))  # skip_consent still ticked
    assert response.status_code == 302, response.content
    application.refresh_from_db()
    assert application.client_type == "public" and not application.has_secret
    assert not Consent.objects.exists()
    assert application.skip_consent is False


@pytest.mark.security("S28")
def test_switching_a_client_to_private_key_jwt_in_the_admin_drops_its_consents_and_skip_consent(admin_client):
    """Another way of proving who the client is makes it another client (docs/SECURITY.md S28)."""
    import json

    from oauth_provider.models import Consent
    from tests.helpers.assertions import client_key

    application = WebApplicationFactory(skip_consent=True, allowed_scopes="read", default_scopes="read")
    Consent.objects.create(user=UserFactory(), application=application, scope="read")
    form = web_client_form(application, token_endpoint_auth_method="private_key_jwt",
                           jwks=json.dumps({"keys": [client_key()[1]]}))
    response = admin_client.post(f"{CLIENTS}{application.pk}/change/", form)  # skip_consent still ticked
    assert response.status_code == 302, response.content
    application.refresh_from_db()
    assert application.uses_private_key_jwt
    assert not Consent.objects.exists()
    assert application.skip_consent is False
