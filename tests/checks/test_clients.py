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
