"""Client authentication: server-generated secrets kept as digests, compared in constant time, rotated at once."""

import hmac

import pytest

from oauth_provider import crypto
from oauth_provider.models import Application
from tests.factories import ApplicationFactory
from tests.helpers.flows import token_request

pytestmark = pytest.mark.django_db


@pytest.mark.security("S4")
def test_secrets_are_server_generated_and_stored_as_digests(application):
    stored = Application.objects.get(pk=application.pk)
    assert stored.client_secret_digest == crypto.digest(application.secret)
    assert application.secret not in str(Application.objects.filter(pk=application.pk).values().get())
    assert len(stored.generate_secret()) >= 32
    with pytest.raises(ValueError):
        Application.objects.filter(pk=application.pk).get().set_secret("short")


@pytest.mark.security("S4")
def test_secrets_are_compared_in_constant_time(application, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert application.check_secret(application.secret)
    assert not application.check_secret("wrong")
    assert len(calls) == 2


@pytest.mark.security("S4")
def test_a_rotated_secret_replaces_the_old_one_at_once(client, application):
    old = application.secret
    application.generate_secret()
    application.save()
    application.secret = old
    assert token_request(client, application, {"grant_type": "client_credentials"}).status_code == 401


@pytest.mark.security("S4")
def test_an_inactive_client_cannot_authenticate(client):
    app = ApplicationFactory(is_active=False)
    assert token_request(client, app, {"grant_type": "client_credentials"}).status_code == 401
