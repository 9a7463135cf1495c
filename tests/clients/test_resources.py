"""Resource indicators (RFC 8707): registered resources, their scopes, one audience per token."""

from __future__ import annotations

import pytest

from oauth_provider.clients.resources import is_resource_uri, resource_servers, token_target, validate_resources
from oauth_provider.errors import InvalidTarget
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

A = "https://a.api.example/"
B = "https://b.api.example/"


@pytest.fixture
def servers():
    ApplicationFactory(is_resource_server=True, resource_audiences=A, resource_scopes="read")
    ApplicationFactory(is_resource_server=True, resource_audiences=f"{B}\nnot a uri", resource_scopes="write")


@pytest.mark.parametrize("value", [A, "urn:example:api", "https://x.example/path?q=1"])
def test_absolute_uris_without_fragment_are_resource_uris(value):
    assert is_resource_uri(value)


@pytest.mark.parametrize("value", ["", "/relative", "api", "https://x.example/#frag", "https://x.example/#", "a b:c"])
def test_relative_uris_and_fragments_are_not(value):
    assert not is_resource_uri(value)


def test_registered_resources_are_accepted(servers):
    assert validate_resources([A, B, A]) == [A, B]
    assert validate_resources([]) == []


@pytest.mark.parametrize("value", ["https://unknown.example/", "https://a.api.example/#x", "relative", "not a uri"])
def test_unknown_or_malformed_resources_are_invalid_target(servers, value):
    with pytest.raises(InvalidTarget) as caught:
        validate_resources([value])
    assert caught.value.error == "invalid_target" and caught.value.status_code == 400


def test_an_inactive_resource_server_serves_no_resource(servers):
    ApplicationFactory(is_resource_server=True, is_active=False, resource_audiences="https://off.example/")
    with pytest.raises(InvalidTarget):
        validate_resources(["https://off.example/"])


def test_too_many_resources_are_refused(servers):
    with pytest.raises(InvalidTarget):
        validate_resources([A] * 11)


def test_a_token_for_a_never_carries_a_scope_only_b_defines(servers):
    # "admin" is listed by no resource server: general, accepted by every resource.
    assert resource_servers().scope_for(A, ["read", "write", "admin"]) == ["read", "admin"]
    assert token_target([A], None, ["read", "write", "admin"]).scope == ["read", "admin"]
    assert token_target([B], None, ["read", "write"]).scope == ["write"]


def test_a_resource_accepting_none_of_the_scopes_is_invalid_target(servers):
    with pytest.raises(InvalidTarget):
        token_target([B], None, ["read"])


def test_without_resources_the_default_audience_and_whole_scope(servers):
    target = token_target([], None, ["read", "write"])
    assert target.audience is None and target.scope == ["read", "write"]
    assert token_target([], [], ["read"]).audience is None


def test_a_grant_with_one_resource_gives_tokens_for_it(servers):
    assert token_target([], [A], ["read"]).audience == A


def test_a_token_request_may_narrow_to_one_granted_resource_never_widen(servers):
    assert token_target([B], [A, B], ["read", "write"]) == token_target([B], None, ["read", "write"])
    with pytest.raises(InvalidTarget):
        token_target([B], [A], ["read", "write"])
    with pytest.raises(InvalidTarget):
        token_target([A], [], ["read"])  # the grant named no resource


def test_one_audience_per_token(servers):
    with pytest.raises(InvalidTarget):
        token_target([A, B], None, ["read", "write"])
    with pytest.raises(InvalidTarget):
        token_target([], [A, B], ["read", "write"])


def test_a_resource_longer_than_an_audience_can_be_is_invalid_target():
    long_uri = "https://api.example/" + "x" * 300
    ApplicationFactory(is_resource_server=True, resource_audiences=long_uri)
    with pytest.raises(InvalidTarget):
        validate_resources([long_uri])
