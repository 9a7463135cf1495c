"""SECURITY.md, "Operations" (items 21-25): secrets never shown, audit, rate limits, deploy checks, bad input."""

import logging
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client

from oauth_provider import audit
from oauth_provider.checks import check_deploy, check_weak_clients
from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import AccessToken, AuditEvent, AuthorizationCode, Consent, RefreshToken, SigningKey
from tests.factories import ApplicationFactory, WebApplicationFactory
from tests.helpers.flows import VERIFIER, authorize_url, obtain_code, query_of, redeem, token_request

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


def run_every_flow(user_client, web_app, application):
    """Code flow, refresh, reuse, client credentials and failures; every secret that crossed the wire."""
    secrets = [web_app.secret, application.secret, VERIFIER]
    code = obtain_code(user_client, web_app)
    first = redeem(Client(), web_app, code).json()
    rotated = token_request(Client(), web_app, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    reuse = token_request(Client(), web_app, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    replay = redeem(Client(), web_app, code)
    service = token_request(Client(), application, {"grant_type": "client_credentials"}).json()
    wrong = Client().post("/oauth/token/", urlencode({"grant_type": "client_credentials",
                                                      "client_id": application.client_id,
                                                      "client_secret": "guessed-secret-value-0123456789abcdef"}),
                          content_type=FORM)
    secrets += [code, first["access_token"], first["refresh_token"], rotated.json()["access_token"],
                rotated.json()["refresh_token"], service["access_token"], "guessed-secret-value-0123456789abcdef"]
    return secrets, [replay, reuse, wrong]


def test_item_21_secrets_codes_and_tokens_never_appear_in_logs_audit_or_error_messages(
    user_client, web_app, application, caplog
):
    with caplog.at_level(logging.DEBUG):
        secrets, errors = run_every_flow(user_client, web_app, application)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    details = "\n".join(str(event.details) for event in AuditEvent.objects.all())
    answers = "\n".join(response.content.decode() for response in errors)
    assert AuditEvent.objects.count() >= 5
    for secret in secrets:
        assert secret not in logged
        assert secret not in details
        assert secret not in answers


def test_item_21_the_admin_never_shows_a_secret_digest_or_private_key(admin_client, application):
    get_signing_key()
    client_page = admin_client.get(f"/admin/oauth_provider/application/{application.pk}/change/").content.decode()
    key = SigningKey.objects.get()
    key_page = admin_client.get(f"/admin/oauth_provider/signingkey/{key.pk}/change/").content.decode()
    assert application.secret not in client_page
    assert application.client_secret_digest not in client_page
    assert key.private_key_encrypted not in key_page
    assert "PRIVATE KEY" not in key_page


@pytest.mark.parametrize("event", [audit.TOKEN_ISSUED, audit.REFRESH_TOKEN_REUSED, audit.CLIENT_AUTH_FAILED,
                                   audit.CONSENT_GRANTED, audit.CODE_REPLAYED])
def test_item_22_security_events_of_the_flows_are_audited(user_client, web_app, application, event):
    run_every_flow(user_client, web_app, application)
    assert AuditEvent.objects.filter(event=event).exists()


def test_item_22_consent_denied_is_audited(user_client, web_app):
    user_client.post(authorize_url(web_app), {"decision": "deny"})
    assert AuditEvent.objects.filter(event=audit.CONSENT_DENIED, client_id=web_app.client_id).exists()


def test_item_22_client_creation_is_audited(capsys):
    call_command("oauth_create_client", "audited client", "--json")
    assert AuditEvent.objects.filter(event=audit.CLIENT_CREATED).exists()


def test_item_22_secret_rotation_is_audited(admin_client, application):
    admin_client.post("/admin/oauth_provider/application/", {
        "action": "rotate_secret", "_selected_action": [application.pk],
    })
    assert AuditEvent.objects.filter(event=audit.CLIENT_SECRET_ROTATED, client_id=application.client_id).exists()


def test_item_22_key_rotation_is_audited(capsys):
    call_command("oauth_create_signing_key", "--activate")
    assert AuditEvent.objects.filter(event=audit.SIGNING_KEY_ROTATED).exists()


def test_item_23_brute_force_at_the_token_endpoint_is_rate_limited_with_429_and_retry_after(client, settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "TOKEN_RATE_LIMIT_PER_CLIENT": 5}
    app = ApplicationFactory()
    guesses = [
        Client().post("/oauth/token/", urlencode({"grant_type": "client_credentials", "client_id": app.client_id,
                                                  "client_secret": f"guess-{n}"}), content_type=FORM)
        for n in range(6)
    ]
    assert [response.status_code for response in guesses] == [401] * 5 + [429]
    assert int(guesses[-1]["Retry-After"]) > 0
    # The real secret is refused too until the window ends: the limit is not an oracle.
    assert token_request(client, app, {"grant_type": "client_credentials"}).status_code == 429


def test_item_24_private_signing_keys_are_encrypted_at_rest():
    get_signing_key()
    stored = SigningKey.objects.get().private_key_encrypted
    assert "PRIVATE KEY" not in stored
    assert "BEGIN" not in stored


def test_item_24_weak_settings_are_reported_by_check_deploy_with_stable_ids(settings):
    settings.OAUTH_PROVIDER = {
        **settings.OAUTH_PROVIDER, "ISSUER": "http://auth.example.com", "KEY_ENCRYPTION_KEYS": [],
        "ACCESS_TOKEN_LIFETIME": 7200, "AUTHORIZATION_CODE_LIFETIME": 600, "TOKEN_RATE_LIMIT_PER_CLIENT": None,
    }
    ids = {message.id for message in check_deploy()}
    assert ids == {"oauth_provider.W001", "oauth_provider.W002", "oauth_provider.W003", "oauth_provider.W004",
                   "oauth_provider.W009"}


def test_item_24_weak_client_opt_ins_are_reported_by_check_deploy():
    WebApplicationFactory(allow_plain_pkce=True,
                          grant_types=["authorization_code", "implicit", "password"])
    ids = {message.id for message in check_weak_clients()}
    assert ids == {"oauth_provider.W005", "oauth_provider.W006", "oauth_provider.W007"}


def test_item_24_the_default_settings_raise_no_deploy_warning_but_http(settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "ISSUER": "https://auth.example.com"}
    assert check_deploy() == []


def counts():
    return [model.objects.count() for model in (AccessToken, RefreshToken, AuthorizationCode, Consent)]


@pytest.mark.parametrize("body", [
    "grant_type=client_credentials&grant_type=client_credentials",  # repeated
    "grant_type=client_credentials&scope=" + "a" * 5000,  # oversized
    "grant_type=client_credentials&scope=%00%FF%C3%28",  # NUL and invalid UTF-8
    "grant_type=%",  # broken percent-encoding
    "",  # missing
])
def test_item_25_bad_input_gets_a_clear_4xx_and_no_write(client, application, body):
    from tests.helpers.flows import basic_auth

    before = counts()
    response = client.post("/oauth/token/", body, content_type=FORM,
                           HTTP_AUTHORIZATION=basic_auth(application.client_id, application.secret))
    assert 400 <= response.status_code < 500
    assert response.json()["error"] in ("invalid_request", "invalid_scope", "unsupported_grant_type")
    assert counts() == before


def test_item_25_a_wrong_content_type_or_method_gets_a_clear_4xx(client):
    wrong_type = client.post("/oauth/token/", '{"grant_type": "client_credentials"}', content_type="application/json")
    wrong_method = client.get("/oauth/token/")
    assert (wrong_type.status_code, wrong_type.json()["error"]) == (400, "invalid_request")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "invalid_request")


def test_item_25_bad_authorize_input_gets_an_error_and_no_write(user_client, web_app):
    before = counts()
    repeated = user_client.get(authorize_url(web_app) + "&scope=write")
    assert "error=invalid_request" in repeated["Location"] or repeated.status_code == 400
    garbage = user_client.get("/oauth/authorize/?client_id=%FF%00&redirect_uri=%")
    assert garbage.status_code == 400
    assert counts() == before
    assert query_of(repeated.get("Location", "?x=1"))


@pytest.mark.parametrize("body, authorization", [
    ("grant_type=client_credentials&client_id=a%00b", None),
    ("grant_type=client_credentials", "Basic " + __import__("base64").b64encode(b"a\x00b:secret").decode()),
    ("grant_type=client_credentials", "Basic " + __import__("base64").b64encode(b"a%00b:secret").decode()),
])
def test_item_25_nul_characters_get_a_4xx_on_every_database(client, body, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.post("/oauth/token/", body, content_type=FORM, **extra)
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("invalid_request", "invalid_client")


def test_item_25_an_unreadable_consent_form_gets_the_400_error_page(user_client, web_app):
    response = user_client.generic("POST", authorize_url(web_app), b"decision=allow",
                                   content_type="application/x-www-form-urlencoded; charset=latin-1")
    assert response.status_code == 400
    assert AuthorizationCode.objects.count() == 0


def test_item_25_a_broken_multipart_consent_form_gets_the_400_error_page(user_client, web_app):
    response = user_client.generic("POST", authorize_url(web_app), b"\x00", content_type="multipart/form-data")
    assert response.status_code == 400


def test_item_22_revocation_is_audited(web_app, user_client):
    from tests.helpers.flows import post_as

    tokens = redeem(Client(), web_app, obtain_code(user_client, web_app)).json()
    post_as(Client(), "/oauth/revoke/", web_app, {"token": tokens["refresh_token"]})
    event = AuditEvent.objects.get(event=audit.TOKEN_REVOKED)
    assert event.application == web_app
    assert tokens["refresh_token"] not in str(event.details)


@pytest.mark.parametrize(("decision", "event"), [("approve", audit.DEVICE_CODE_APPROVED),
                                                 ("deny", audit.DEVICE_CODE_DENIED)])
def test_item_22_device_approvals_and_denials_are_audited(user_client, user, decision, event):
    from tests.factories import DeviceApplicationFactory
    from tests.helpers.device import decide, start

    grant = start(Client(), DeviceApplicationFactory())
    decide(user_client, grant["user_code"], decision)
    recorded = AuditEvent.objects.get(event=event)
    assert recorded.user == user
    assert grant["device_code"] not in str(recorded.details)


def test_item_23_the_device_page_is_rate_limited_with_429_and_retry_after(user_client):
    from tests.helpers.device import enter

    for n in range(5):
        enter(user_client, f"BBBB-BBB{'BCDFG'[n]}")
    response = enter(user_client, "BBBB-BBBH")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
