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


# --- the client look-up (one statement, compiled once) ----------------------------------------------


def _field_values(application):
    return {field.attname: getattr(application, field.attname) for field in Application._meta.concrete_fields}


def test_find_client_gives_the_same_client_as_the_orm():
    from oauth_provider.clients.authentication import find_client

    stored = ApplicationFactory(grant_types=["client_credentials", "refresh_token"], metadata={"logo_uri": "x"})
    found = find_client(stored.client_id)
    assert type(found) is Application and found.get_deferred_fields() == set()
    assert _field_values(found) == _field_values(Application.objects.get(pk=stored.pk))
    assert found._state.adding is False and found._state.db == "default"
    inactive = ApplicationFactory(is_active=False)
    assert find_client(inactive.client_id).is_active is False


@pytest.mark.parametrize("client_id", ["no-such-client", "x' OR '1'='1", "%", "%s", "_", ""])
def test_find_client_binds_the_client_id_as_a_parameter(client_id):
    from oauth_provider.clients.authentication import find_client

    ApplicationFactory()
    assert find_client(client_id) is None


def test_find_client_finds_ids_with_sql_wildcards_literally():
    from oauth_provider.clients.authentication import find_client

    odd = ApplicationFactory(client_id="a%b_c's")
    ApplicationFactory(client_id="aXbYc's")
    assert find_client("a%b_c's").pk == odd.pk


def test_find_client_is_one_statement_compiled_once(django_assert_num_queries, monkeypatch):
    from django.db.models.sql import compiler

    from oauth_provider.clients import authentication

    application = ApplicationFactory()
    authentication.find_client(application.client_id)
    compiled = []
    real = compiler.SQLCompiler.as_sql
    monkeypatch.setattr(compiler.SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or real(self, *a, **k))
    with django_assert_num_queries(1) as captured:
        assert authentication.find_client(application.client_id).pk == application.pk
    assert compiled == []
    sql = captured.captured_queries[0]["sql"].upper()
    assert "ORDER BY" not in sql and " JOIN " not in sql and "LIMIT 1" in sql
