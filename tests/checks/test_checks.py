import pytest
from django.test import override_settings

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


def deploy_messages(settings_dict):
    from django.test import override_settings

    with override_settings(OAUTH_PROVIDER=settings_dict):
        return {message.id: message for message in check_deploy()}


def test_W008_says_what_open_registration_allows():
    message = deploy_messages({**BASE, "REGISTRATION_MODE": "open"})["oauth_provider.W008"].msg
    assert "authorization_code" in message and "client_credentials" in message
    assert "the scopes read." in message  # DEFAULT_SCOPES only, by default
    wider = deploy_messages({**BASE, "REGISTRATION_MODE": "open", "REGISTRATION_SCOPES": ["read", "write"]})
    assert "the scopes read write." in wider["oauth_provider.W008"].msg


def test_W003_hint_names_its_own_threshold():
    warning = deploy_messages({**BASE, "ACCESS_TOKEN_LIFETIME": 7200})["oauth_provider.W003"]
    assert "3600 seconds or less" in warning.hint
    assert "7200" in warning.msg
    assert "oauth_provider.W003" not in deploy_messages({**BASE, "ACCESS_TOKEN_LIFETIME": 3600})


def test_bad_dpop_settings_are_E020():
    assert run({**BASE, "DPOP_SIGNING_ALGORITHMS": ["HS256"]}) == ["oauth_provider.E020"]
    assert run({**BASE, "DPOP_SIGNING_ALGORITHMS": []}) == ["oauth_provider.E020"]
    assert run({**BASE, "DPOP_SIGNING_ALGORITHMS": "ES256"}) == ["oauth_provider.E020"]
    assert run({**BASE, "DPOP_PROOF_MAX_AGE": 0}) == ["oauth_provider.E020"]
    assert run({**BASE, "DPOP_NONCE_LIFETIME": -1}) == ["oauth_provider.E020"]
    assert run({**BASE, "DPOP_CLOCK_SKEW": -1}) == ["oauth_provider.E020"]
    assert run({**BASE, "DPOP_SIGNING_ALGORITHMS": ["ES384", "PS256"], "DPOP_CLOCK_SKEW": 0}) == []


def test_dpop_replay_cache_that_forgets_warns_W020():
    dummy = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
             "nothing": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with override_settings(CACHES=dummy):
        assert run({**BASE, "DPOP_REPLAY_CACHE": "nothing"}, check_deploy) == ["oauth_provider.W020"]
        assert run({**BASE, "DPOP_REPLAY_CACHE": "missing"}, check_deploy) == ["oauth_provider.W020"]
        assert run(BASE, check_deploy) == []


def test_a_mac_or_none_among_client_assertion_algorithms_is_E015():
    assert run({**BASE, "CLIENT_ASSERTION_ALGORITHMS": ["RS256", "HS256"]}) == ["oauth_provider.E015"]
    assert run({**BASE, "CLIENT_ASSERTION_ALGORITHMS": ["none"]}) == ["oauth_provider.E015"]
    assert run({**BASE, "CLIENT_ASSERTION_ALGORITHMS": ["ES384", "PS512"]}) == []


def test_non_positive_par_and_assertion_lifetimes_are_E007():
    for name in ("PUSHED_AUTHORIZATION_REQUEST_LIFETIME", "CLIENT_ASSERTION_MAX_LIFETIME", "CLIENT_JWKS_TIMEOUT"):
        assert run({**BASE, name: 0}) == ["oauth_provider.E007"]


def test_loopback_client_jwks_uris_warn_W015():
    assert run({**BASE, "CLIENT_JWKS_URI_ALLOW_LOOPBACK": True}, check_deploy) == ["oauth_provider.W015"]


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


def test_the_sector_identifier_loopback_test_setting_warns_w013(settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "ISSUER": "https://auth.example.com",
                               "KEY_ENCRYPTION_KEYS": ["k"], "SECTOR_IDENTIFIER_ALLOW_LOOPBACK": True}
    assert {message.id for message in check_deploy()} == {"oauth_provider.W013"}


# --- rate limits (docs/SECURITY.md S27) -------------------------------------------------------------


def test_rate_limits_that_are_not_none_or_positive_are_E009():
    assert run({**BASE, "CLIENT_AUTH_MAX_FAILURES": 0}) == ["oauth_provider.E009"]
    assert run({**BASE, "OPEN_REGISTRATIONS_PER_ADDRESS": "10"}) == ["oauth_provider.E009"]
    assert run({**BASE, "CLIENT_AUTH_MAX_FAILURES": None, "PASSWORD_GRANT_MAX_FAILURES": None}) == []


@pytest.mark.parametrize("hops", [-1, "1", True, None])
def test_a_num_proxies_that_is_no_count_is_E009(hops):
    assert run({**BASE, "NUM_PROXIES": hops}) == ["oauth_provider.E009"]


def test_rate_limit_windows_are_positive_seconds_E007():
    assert run({**BASE, "CLIENT_AUTH_FAILURE_WINDOW": 0}) == ["oauth_provider.E007"]
    assert run({**BASE, "UNAUTHENTICATED_CREATIONS_WINDOW": None}) == ["oauth_provider.E007"]


def check_cache():
    from oauth_provider.checks import check_rate_limit_cache

    return check_rate_limit_cache()


@pytest.mark.security("S27")
@pytest.mark.parametrize("environ", [{"WEB_CONCURRENCY": "4"}, {"GUNICORN_CMD_ARGS": "--bind 0.0.0.0 --workers 3"},
                                     {"GUNICORN_CMD_ARGS": "-w 2"}, {"GUNICORN_CMD_ARGS": "--workers=2"}])
def test_a_locmem_rate_limit_cache_in_a_multi_process_server_warns_W016(monkeypatch, environ):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert run(BASE, check_cache) == ["oauth_provider.W016"]


def test_one_process_a_shared_cache_or_no_limits_raise_no_W016(monkeypatch, settings):
    from oauth_provider.checks import RATE_LIMITS, server_processes

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    assert server_processes() == 1
    assert run(BASE, check_cache) == []
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert run({**BASE, **dict.fromkeys(RATE_LIMITS)}, check_cache) == []
    settings.CACHES = {**settings.CACHES, "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                                     "LOCATION": "redis://127.0.0.1:6379/0"}}
    assert run({**BASE, "RATE_LIMIT_CACHE": "shared"}, check_cache) == []
    assert server_processes({"GUNICORN_CMD_ARGS": "--workers 1", "WEB_CONCURRENCY": "x"}) == 1


def test_drf_throttles_with_another_proxy_count_warn_W017(settings):
    settings.REST_FRAMEWORK = {"DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
                               "DEFAULT_THROTTLE_RATES": {"anon": "100/min"}}
    assert run(BASE, check_cache) == ["oauth_provider.W017"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert run({**BASE, "NUM_PROXIES": 1}, check_cache) == []
    settings.REST_FRAMEWORK = {"NUM_PROXIES": 1}
    assert run({**BASE, "THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"]}, check_cache) == [
        "oauth_provider.W017"]
