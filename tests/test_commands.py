import json
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command

from oauth_provider.models import Application, KeyState, SigningKey

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_client_prints_json_credentials_that_work(client):
    output = run("oauth_create_client", "Reports", "--grant-type", "client_credentials", "--scope", "read", "--json")
    credentials = json.loads(output)
    application = Application.objects.get(client_id=credentials["client_id"])
    assert application.check_secret(credentials["client_secret"])
    assert application.grant_types == ["client_credentials"]
    body = urlencode({"grant_type": "client_credentials", "client_id": credentials["client_id"],
                      "client_secret": credentials["client_secret"]})
    response = client.post("/oauth/token/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200


def test_create_public_client_has_no_secret():
    output = run("oauth_create_client", "Mobile", "--type", "public", "--grant-type", "authorization_code",
                 "--redirect-uri", "com.example.app:/cb", "--json")
    credentials = json.loads(output)
    assert "client_secret" not in credentials
    assert credentials["redirect_uris"] == ["com.example.app:/cb"]


def test_create_client_refuses_invalid_metadata():
    with pytest.raises(CommandError, match="client_credentials"):
        run("oauth_create_client", "Bad", "--type", "public", "--grant-type", "client_credentials")
    assert not Application.objects.exists()


def test_create_client_text_output_warns_the_secret_is_shown_once():
    output = run("oauth_create_client", "Svc", "--grant-type", "client_credentials", "--scope", "read")
    assert "client_secret:" in output and "shown only now" in output


def test_create_signing_key_publishes_a_next_key():
    run("oauth_create_signing_key", "--algorithm", "ES256")
    assert SigningKey.objects.get().state == KeyState.NEXT


def test_create_signing_key_activate_retires_the_current_one():
    from oauth_provider.keys.store import get_signing_key

    old = get_signing_key()
    run("oauth_create_signing_key", "--activate")
    assert SigningKey.objects.get(kid=old.kid).state == KeyState.RETIRED
    new = SigningKey.objects.get(state=KeyState.ACTIVE)
    assert get_signing_key().kid == new.kid
