"""Subject types (OpenID Connect Core §8): public, and pairwise per sector."""

import pytest
from django.test import override_settings

from oauth_provider.models import SubjectType
from oauth_provider.oidc.subjects import subject_for_client
from tests.factories import OpenIDApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db


def pairwise(redirect_uris, **kwargs):
    return OpenIDApplicationFactory(subject_type=SubjectType.PAIRWISE, redirect_uris=redirect_uris, **kwargs)


def test_public_subject_is_the_users_public_sub():
    user = UserFactory()
    assert subject_for_client(user, OpenIDApplicationFactory()) == str(user.pk)


def test_pairwise_subject_differs_across_sectors():
    user = UserFactory()
    one = pairwise("https://one.example.test/cb")
    two = pairwise("https://two.example.test/cb")
    assert subject_for_client(user, one) != subject_for_client(user, two)
    assert str(user.pk) not in (subject_for_client(user, one), subject_for_client(user, two))


def test_pairwise_subject_is_stable_within_one_sector():
    user = UserFactory()
    first = pairwise("https://one.example.test/cb")
    second = pairwise("https://one.example.test/other")
    assert subject_for_client(user, first) == subject_for_client(user, first)
    assert subject_for_client(user, first) == subject_for_client(user, second)


def test_pairwise_subjects_of_two_users_differ():
    client = pairwise("https://one.example.test/cb")
    assert subject_for_client(UserFactory(), client) != subject_for_client(UserFactory(), client)


def test_the_sector_identifier_uri_host_names_the_sector():
    user = UserFactory()
    a = pairwise("https://a.example.test/cb", sector_identifier_uri="https://sector.example.test/uris.json")
    b = pairwise("https://b.example.test/cb", sector_identifier_uri="https://sector.example.test/other.json")
    assert a.sector_identifier == "sector.example.test"
    assert subject_for_client(user, a) == subject_for_client(user, b)


def test_pairwise_subjects_depend_on_the_secret(settings):
    user, client = UserFactory(), pairwise("https://one.example.test/cb")
    before = subject_for_client(user, client)
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "PAIRWISE_SUBJECT_SECRET": "another secret"}):
        assert subject_for_client(user, client) != before


def test_a_pairwise_client_with_several_redirect_hosts_needs_a_sector_identifier_uri():
    from django.core.exceptions import ValidationError

    client = OpenIDApplicationFactory.build(
        subject_type=SubjectType.PAIRWISE, redirect_uris="https://a.example.test/cb\nhttps://b.example.test/cb"
    )
    with pytest.raises(ValidationError, match="sector_identifier_uri"):
        client.full_clean(exclude=["client_id"])
