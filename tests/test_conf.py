import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from oauth_provider.conf import DEFAULTS, OAuthProviderSettings, oauth_settings
from oauth_provider.grants.client_credentials import ClientCredentialsGrant


def test_defaults_fill_what_the_project_leaves_out():
    conf = OAuthProviderSettings({"ISSUER": "https://auth.example.test"})
    assert conf.ACCESS_TOKEN_LIFETIME == DEFAULTS["ACCESS_TOKEN_LIFETIME"] == 600
    assert conf.AUTHORIZATION_CODE_LIFETIME == 60
    assert conf.SIGNING_ALGORITHM == "RS256"


def test_audience_defaults_to_the_issuer():
    assert OAuthProviderSettings({"ISSUER": "https://a.test"}).access_token_audience == "https://a.test"
    conf = OAuthProviderSettings({"ISSUER": "https://a.test", "ACCESS_TOKEN_AUDIENCE": "https://api.test"})
    assert conf.access_token_audience == "https://api.test"


def test_grant_import_strings_are_resolved():
    assert OAuthProviderSettings({}).GRANT_TYPES["client_credentials"] is ClientCredentialsGrant


def test_unknown_setting_fails_loudly():
    conf = OAuthProviderSettings({"ISSUER": "https://a.test", "ACCES_TOKEN_LIFETIME": 5})
    with pytest.raises(ImproperlyConfigured, match="ACCES_TOKEN_LIFETIME"):
        conf.ISSUER  # noqa: B018


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError):
        OAuthProviderSettings({}).NO_SUCH_SETTING  # noqa: B018


def test_bad_import_string_is_improperly_configured():
    conf = OAuthProviderSettings({"GRANT_TYPES": {"x": "oauth_provider.nowhere.Grant"}})
    with pytest.raises(ImproperlyConfigured, match="nowhere"):
        conf.GRANT_TYPES  # noqa: B018


def test_override_settings_reloads_the_object():
    before = oauth_settings.ACCESS_TOKEN_LIFETIME
    with override_settings(OAUTH_PROVIDER={"ISSUER": "https://x.test", "ACCESS_TOKEN_LIFETIME": 42}):
        assert oauth_settings.ACCESS_TOKEN_LIFETIME == 42
        assert oauth_settings.ISSUER == "https://x.test"
    assert before == oauth_settings.ACCESS_TOKEN_LIFETIME


def test_the_removed_token_rate_limit_settings_name_their_replacements():
    conf = OAuthProviderSettings({"ISSUER": "https://a.test", "TOKEN_RATE_LIMIT_PER_CLIENT": 60,
                                  "TOKEN_RATE_LIMIT_PER_ADDRESS": 120})
    with pytest.raises(ImproperlyConfigured) as exc:
        conf.ISSUER  # noqa: B018
    message = str(exc.value)
    assert "TOKEN_RATE_LIMIT_PER_ADDRESS, TOKEN_RATE_LIMIT_PER_CLIENT" in message
    assert message.count("were removed") == 1
    assert "CLIENT_AUTH_MAX_FAILURES" in message and "THROTTLE_CLASSES" in message


def test_throttle_classes_are_import_strings():
    from rest_framework.throttling import AnonRateThrottle

    assert OAuthProviderSettings({}).THROTTLE_CLASSES is None
    conf = OAuthProviderSettings({"THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"]})
    [throttle] = conf.THROTTLE_CLASSES
    assert throttle is AnonRateThrottle
