import pytest

from oauth_provider.checks import check_deploy
from tests.helpers.checks import BASE, run


def test_sound_configuration_passes():
    assert run(BASE) == []
    assert run(BASE, check_deploy) == []


def test_missing_issuer_is_E001():
    assert run({}) == ["oauth_provider.E001"]


def test_issuer_with_query_or_fragment_is_E002():
    assert run({**BASE, "ISSUER": "https://a.test/?x=1"}) == ["oauth_provider.E002"]
    assert run({**BASE, "ISSUER": "https://a.test/#f"}) == ["oauth_provider.E002"]
    assert run({**BASE, "ISSUER": "auth.example.test"}) == ["oauth_provider.E002"]


def test_unsupported_algorithm_is_E003():
    assert run({**BASE, "SIGNING_ALGORITHM": "HS256"}) == ["oauth_provider.E003"]


def test_bad_scope_names_or_defaults_are_E004():
    assert run({**BASE, "SCOPES": {"has space": "x"}, "DEFAULT_SCOPES": []}) == ["oauth_provider.E004"]
    assert run({**BASE, "SCOPES": {"read": "x"}, "DEFAULT_SCOPES": ["write"]}) == ["oauth_provider.E004"]


def test_unimportable_grant_is_E005():
    assert run({**BASE, "GRANT_TYPES": {"x": "no.such.Grant"}}) == ["oauth_provider.E005"]


def test_unknown_setting_is_E006():
    assert run({**BASE, "ISUSER": "typo"}) == ["oauth_provider.E006"]


def test_non_positive_lifetime_is_E007():
    assert run({**BASE, "ACCESS_TOKEN_LIFETIME": 0}) == ["oauth_provider.E007"]


def test_http_issuer_warns_W001_in_deploy_check():
    assert run({**BASE, "ISSUER": "http://auth.example.test"}, check_deploy) == ["oauth_provider.W001"]


def test_key_encryption_derived_from_secret_key_warns_W002():
    assert run({"ISSUER": "https://a.test"}, check_deploy) == ["oauth_provider.W002"]


def test_long_access_tokens_warn_W003():
    assert run({**BASE, "ACCESS_TOKEN_LIFETIME": 7200}, check_deploy) == ["oauth_provider.W003"]


def test_long_codes_warn_W004():
    assert run({**BASE, "AUTHORIZATION_CODE_LIFETIME": 600}, check_deploy) == ["oauth_provider.W004"]


def test_unknown_registration_mode_is_E008():
    assert run({**BASE, "REGISTRATION_MODE": "wide-open"}) == ["oauth_provider.E008"]


def test_registration_scopes_outside_scopes_are_E008():
    assert run({**BASE, "REGISTRATION_SCOPES": ["read", "superuser"]}) == ["oauth_provider.E008"]


def test_open_registration_warns_W008():
    assert run({**BASE, "REGISTRATION_MODE": "open"}, check_deploy) == ["oauth_provider.W008"]


@pytest.mark.security("S24")
def test_weak_settings_are_reported_by_check_deploy_with_stable_ids(settings):
    settings.OAUTH_PROVIDER = {
        **settings.OAUTH_PROVIDER, "ISSUER": "http://auth.example.com", "KEY_ENCRYPTION_KEYS": [],
        "ACCESS_TOKEN_LIFETIME": 7200, "AUTHORIZATION_CODE_LIFETIME": 600, "CLIENT_AUTH_MAX_FAILURES": None,
    }
    ids = {message.id for message in check_deploy()}
    assert ids == {"oauth_provider.W001", "oauth_provider.W002", "oauth_provider.W003", "oauth_provider.W004",
                   "oauth_provider.W009"}


@pytest.mark.security("S24")
def test_the_defaults_with_an_https_issuer_raise_no_deploy_warning(settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "ISSUER": "https://auth.example.com"}
    assert check_deploy() == []
