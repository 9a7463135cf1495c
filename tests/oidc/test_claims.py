"""Claims (OpenID Connect Core §5): the default provider, the claims request (§5.5) and the
custom-claims hook, which may never set a registered claim."""

import pytest
from django.test import override_settings

from oauth_provider.oidc.claims import (
    REGISTERED_CLAIMS,
    CustomClaimsError,
    custom_claims,
    describe_claims,
    parse_claims_request,
    scope_claims,
    user_claims,
)
from tests.factories import OpenIDApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _hook_setting(settings, path):
    return override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "CUSTOM_CLAIMS": path})


def sets_iss(client, user, scope, target):
    return {"iss": "https://evil.example", "tenant": "t1"}


def sets_sub(client, user, scope, target):
    return {"sub": "someone-else"}


def adds_tenant(client, user, scope, target):
    return {"tenant": f"{client.client_id}:{user.pk}:{target}:{' '.join(scope)}"}


def returns_a_list(client, user, scope, target):
    return ["tenant"]


def test_scopes_disclose_the_claims_of_core_5_4():
    assert scope_claims(["openid", "email"]) == ["email", "email_verified"]
    assert "preferred_username" in scope_claims(["profile"])
    assert scope_claims(["phone", "address"]) == ["phone_number", "phone_number_verified", "address"]
    assert scope_claims(["read"]) == []
    assert describe_claims(["openid", "email", "read"]) == {"email": ["email", "email_verified"]}


def test_default_provider_builds_claims_from_the_django_user():
    user = UserFactory(first_name="Ada", last_name="Lovelace", email="ada@example.test")
    claims = user_claims(user, scope=["openid", "profile", "email"], claims_request=None, target="userinfo")
    assert claims == {
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "preferred_username": user.username,
        "email": "ada@example.test",
        "email_verified": False,
    }


def test_empty_claims_are_left_out_rather_than_empty_strings():
    user = UserFactory(first_name="", last_name="", email="")
    claims = user_claims(user, scope=["profile", "email"], claims_request=None, target="userinfo")
    assert claims == {"preferred_username": user.username}


def test_the_id_token_target_gets_only_claims_the_claims_parameter_asked_for():
    user = UserFactory(email="a@example.test")
    request = {"id_token": {"email": {"essential": True}}}
    assert user_claims(user, scope=["openid", "profile"], claims_request=request, target="id_token") == {
        "email": "a@example.test"
    }
    assert user_claims(user, scope=["openid", "profile", "email"], claims_request=None, target="id_token") == {}


def test_a_claim_asked_with_a_value_is_returned_only_with_that_value():
    user = UserFactory(email="a@example.test")
    matching = {"userinfo": {"email": {"value": "a@example.test"}}}
    other = {"userinfo": {"email": {"values": ["b@example.test"]}}}
    assert user_claims(user, scope=[], claims_request=matching, target="userinfo") == {"email": "a@example.test"}
    assert user_claims(user, scope=[], claims_request=other, target="userinfo") == {}


def test_registered_claims_are_never_taken_from_a_claims_request():
    user = UserFactory()
    request = {"userinfo": {"sub": None, "iss": None}}
    assert user_claims(user, scope=[], claims_request=request, target="userinfo") == {}


@pytest.mark.parametrize(
    "raw, message",
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"userinfo": []}', "claims.userinfo must be a JSON object"),
        ('{"id_token": {"email": 3}}', "must be null or a JSON object"),
        ('{"id_token": {"email": {"essential": "yes"}}}', "essential must be true or false"),
        ('{"id_token": {"email": {"value": "a", "values": ["a"]}}}', "both value and values"),
        ('{"id_token": {"email": {"values": "a"}}}', "values must be an array"),
    ],
)
def test_malformed_claims_requests_are_refused(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_claims_request(raw)


def test_claims_request_keeps_the_two_members_it_acts_on():
    parsed = parse_claims_request(
        '{"userinfo": {"email": {"essential": true}, "name": null}, "id_token": {"auth_time": {"essential": true}},'
        ' "other": {"x": null}}'
    )
    assert parsed == {
        "userinfo": {"email": {"essential": True}, "name": None},
        "id_token": {"auth_time": {"essential": True}},
    }


def test_claims_request_size_is_bounded():
    raw = "{" + '"userinfo": {' + ", ".join(f'"c{i}": null' for i in range(51)) + "}}"
    with pytest.raises(ValueError, match="more than 50"):
        parse_claims_request(raw)


def test_custom_claims_hook_adds_claims_per_client_user_scope_and_target(settings):
    client, user = OpenIDApplicationFactory(), UserFactory()
    with _hook_setting(settings, "tests.oidc.test_claims.adds_tenant"):
        assert custom_claims(client, user, ["openid", "read"], "access_token") == {
            "tenant": f"{client.client_id}:{user.pk}:access_token:openid read"
        }


def test_no_hook_adds_nothing():
    assert custom_claims(None, None, ["openid"], "id_token") == {}


@pytest.mark.parametrize("hook, name", [("sets_iss", "iss"), ("sets_sub", "sub")])
@pytest.mark.security("S32")
def test_custom_claims_hook_may_not_set_a_registered_claim(settings, hook, name):
    with (
        _hook_setting(settings, f"tests.oidc.test_claims.{hook}"),
        pytest.raises(CustomClaimsError, match=f"may not set registered claims.*{name}"),
    ):
        custom_claims(OpenIDApplicationFactory(), UserFactory(), ["openid"], "id_token")


def test_custom_claims_hook_must_return_a_mapping(settings):
    with (
        _hook_setting(settings, "tests.oidc.test_claims.returns_a_list"),
        pytest.raises(CustomClaimsError, match="must return a dict"),
    ):
        custom_claims(OpenIDApplicationFactory(), UserFactory(), ["openid"], "id_token")


def test_the_registered_names_cover_jwt_rfc_9068_and_openid_connect():
    assert {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "client_id",
        "scope",
        "cnf",
        "auth_time",
        "nonce",
        "azp",
        "at_hash",
        "acr",
        "amr",
        "sid",
    } <= REGISTERED_CLAIMS
