"""Deploy checks for clients that opted in to weaker behaviour (docs/SECURITY.md S24)."""

import pytest

from oauth_provider.checks import check_weak_clients
from tests.factories import ApplicationFactory, WebApplicationFactory

pytestmark = pytest.mark.django_db


def ids():
    return {message.id for message in check_weak_clients()}


def test_default_clients_raise_no_warning():
    WebApplicationFactory()
    assert ids() == set()


@pytest.mark.security("S24")
def test_plain_pkce_client_warns_w005():
    WebApplicationFactory(allow_plain_pkce=True)
    assert ids() == {"oauth_provider.W005"}


@pytest.mark.security("S24")
def test_implicit_client_warns_w006():
    WebApplicationFactory(grant_types=["implicit"])
    assert ids() == {"oauth_provider.W006"}


@pytest.mark.security("S24")
def test_password_client_warns_w007():
    ApplicationFactory(grant_types=["password"])
    assert ids() == {"oauth_provider.W007"}


def test_inactive_clients_are_not_reported():
    ApplicationFactory(grant_types=["password"], is_active=False)
    assert ids() == set()


def test_check_is_registered_for_deploy_only():
    from django.core.checks import registry

    assert check_weak_clients in registry.registry.get_checks(include_deployment_checks=True)
    assert check_weak_clients not in registry.registry.get_checks(include_deployment_checks=False)


@pytest.mark.security("S24")
def test_every_weak_client_opt_in_is_reported_at_once():
    WebApplicationFactory(allow_plain_pkce=True,
                          grant_types=["authorization_code", "implicit", "password"])
    ids = {message.id for message in check_weak_clients()}
    assert ids == {"oauth_provider.W005", "oauth_provider.W006", "oauth_provider.W007"}


def messages():
    return {message.id: message.msg for message in check_weak_clients()}


@pytest.mark.security("S24")
def test_a_client_with_a_ten_year_access_token_lifetime_is_named_w010():
    app = WebApplicationFactory(access_token_lifetime=10 * 365 * 24 * 3600)
    WebApplicationFactory(access_token_lifetime=3600)  # at the bound: fine
    found = messages()
    assert set(found) == {"oauth_provider.W010"}
    assert repr(app.client_id) in found["oauth_provider.W010"]
    assert "1 active client(s)" in found["oauth_provider.W010"]


@pytest.mark.security("S24")
def test_a_public_client_with_skip_consent_is_named_w011():
    from tests.factories import PublicApplicationFactory

    app = PublicApplicationFactory(skip_consent=True)
    WebApplicationFactory(skip_consent=True)  # a trusted confidential first-party client: fine
    found = messages()
    assert set(found) == {"oauth_provider.W011"}
    assert repr(app.client_id) in found["oauth_provider.W011"]


@pytest.mark.security("S24")
def test_a_client_that_does_not_require_pkce_is_named_w012():
    app = WebApplicationFactory(require_pkce=False)
    ApplicationFactory(require_pkce=False)  # client credentials only: PKCE does not apply
    found = messages()
    assert set(found) == {"oauth_provider.W012"}
    assert repr(app.client_id) in found["oauth_provider.W012"]


def test_client_ids_in_the_messages_are_escaped():
    WebApplicationFactory(client_id="evil\nERROR forged", require_pkce=False)
    assert "\n" not in messages()["oauth_provider.W012"]


def test_a_pairwise_client_without_its_own_secret_warns_w011(settings):
    from oauth_provider.models import SubjectType

    WebApplicationFactory(subject_type=SubjectType.PAIRWISE)
    assert ids() == {"oauth_provider.W014"}
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "PAIRWISE_SUBJECT_SECRET": "a secret of its own"}
    assert ids() == set()
