"""The audit trail: every security event is recorded, and no secret, code or token reaches it or the logs."""

import logging
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client

from oauth_provider import audit
from oauth_provider.models import AuditEvent
from tests.helpers.flows import FORM, VERIFIER, authorize_url, obtain_code, post_as, redeem, token_request

pytestmark = pytest.mark.django_db


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


@pytest.mark.security("S21")
def test_secrets_codes_and_tokens_never_reach_logs_audit_details_or_error_answers(
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


@pytest.mark.security("S22")
@pytest.mark.parametrize("event", [audit.TOKEN_ISSUED, audit.REFRESH_TOKEN_REUSED, audit.CLIENT_AUTH_FAILED,
                                   audit.CONSENT_GRANTED, audit.CODE_REPLAYED])
def test_security_events_of_the_flows_are_audited(user_client, web_app, application, event):
    run_every_flow(user_client, web_app, application)
    assert AuditEvent.objects.filter(event=event).exists()


@pytest.mark.security("S22")
def test_consent_denial_is_audited(user_client, web_app):
    user_client.post(authorize_url(web_app), {"decision": "deny"})
    assert AuditEvent.objects.filter(event=audit.CONSENT_DENIED, client_id=web_app.client_id).exists()


@pytest.mark.security("S22")
def test_client_creation_is_audited(capsys):
    call_command("oauth_create_client", "audited client", "--grant-type", "client_credentials", "--json")
    assert AuditEvent.objects.filter(event=audit.CLIENT_CREATED).exists()


@pytest.mark.security("S22")
def test_secret_rotation_is_audited(admin_client, application):
    admin_client.post("/admin/oauth_provider/application/", {
        "action": "rotate_secret", "_selected_action": [application.pk],
    })
    assert AuditEvent.objects.filter(event=audit.CLIENT_SECRET_ROTATED, client_id=application.client_id).exists()


@pytest.mark.security("S22")
def test_key_rotation_is_audited(capsys):
    call_command("oauth_create_signing_key", "--activate")
    assert AuditEvent.objects.filter(event=audit.SIGNING_KEY_ROTATED).exists()


@pytest.mark.security("S22")
def test_revoking_a_refresh_token_is_audited_without_the_token(web_app, user_client):
    tokens = redeem(Client(), web_app, obtain_code(user_client, web_app)).json()
    post_as(Client(), "/oauth/revoke/", web_app, {"token": tokens["refresh_token"]})
    event = AuditEvent.objects.get(event=audit.TOKEN_REVOKED)
    assert event.application == web_app
    assert tokens["refresh_token"] not in str(event.details)
