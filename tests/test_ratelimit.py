"""Rate limits: failed client authentications (per claimed client id and per source address), the
counters behind them, and the rows unauthenticated callers may create (docs/SECURITY.md S23, S27)."""

import json
import socket
import threading
import uuid
from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings

from oauth_provider import audit, ratelimit
from oauth_provider.models import AccessToken, Application, AuditEvent, DeviceCode
from oauth_provider.ratelimit import FailureBudget, RateLimit, RateLimitExceeded
from tests.factories import ApplicationFactory, DeviceApplicationFactory
from tests.helpers.device import device_authorization
from tests.helpers.flows import FORM, basic_auth, token_request

pytestmark = pytest.mark.django_db


def limits(settings, **values):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, **values}


def client_credentials(client, app, secret=None, address="10.0.0.1", **extra):
    return client.post(
        "/oauth/token/",
        data="grant_type=client_credentials",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret or app.secret),
        REMOTE_ADDR=address,
        **extra,
    )


def introspect(client, app, secret, address="10.0.0.1"):
    return client.post("/oauth/introspect/", data="token=x", content_type=FORM,
                       HTTP_AUTHORIZATION=basic_auth(app.client_id, secret), REMOTE_ADDR=address)


@pytest.fixture
def frozen_clock(monkeypatch):
    """A clock the test moves by hand: starts 10 s into a window of 60."""
    now = {"t": 1_800_000_000.0 + 10}
    monkeypatch.setattr(ratelimit, "_now", lambda: now["t"])
    return now


def reached(limit: str) -> int:
    return AuditEvent.objects.filter(event=audit.RATE_LIMIT_REACHED, details__limit=limit).count()


# --- failed client authentications (docs/SECURITY.md S23) ----------------------------------------------


@pytest.mark.security("S23")
def test_failed_authentications_over_the_per_client_limit_get_429(client, application, settings):
    limits(settings, CLIENT_AUTH_MAX_FAILURES=3)
    statuses = [client_credentials(client, application, secret="guess").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


@pytest.mark.security("S23")
def test_the_429_is_an_rfc6749_error_body_with_retry_after_and_no_store(client, application, settings, frozen_clock):
    limits(settings, CLIENT_AUTH_MAX_FAILURES=1)
    client_credentials(client, application, secret="guess")
    response = client_credentials(client, application, secret="guess")
    assert response.status_code == 429
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Too many token requests; try again later.",
    }
    assert response["Retry-After"] == "50"
    assert response["Cache-Control"] == "no-store"


def test_a_refused_request_issues_no_token(client, application, settings):
    limits(settings, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=1)
    client_credentials(client, application, secret="guess")
    assert client_credentials(client, application).status_code == 429
    assert AccessToken.objects.count() == 0


def test_wrong_secrets_count_against_the_client_so_secret_guessing_is_limited(client, application, settings):
    limits(settings, CLIENT_AUTH_MAX_FAILURES=3)
    for _ in range(3):
        assert client_credentials(client, application, secret="guess").status_code == 401
    # From the address that guessed, even the real secret waits: the limit is not an oracle.
    assert client_credentials(client, application).status_code == 429


def test_the_per_client_limit_is_per_client(client, application, settings):
    limits(settings, CLIENT_AUTH_MAX_FAILURES=1, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=None)
    other = ApplicationFactory()
    client_credentials(client, application, secret="guess")
    assert client_credentials(client, application, secret="guess").status_code == 429
    assert client_credentials(client, other, secret="guess").status_code == 401


@pytest.mark.security("S23")
def test_failures_over_the_per_address_limit_get_429_whatever_the_client(client, settings):
    limits(settings, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=2)
    apps = ApplicationFactory.create_batch(3)
    statuses = [client_credentials(client, app, secret="guess", address="10.9.9.9").status_code for app in apps]
    assert statuses == [401, 401, 429]
    # Unknown client ids are failures too: spraying random ids is limited by the address.
    response = client.post("/oauth/token/", data="grant_type=client_credentials&client_id=nobody",
                           content_type=FORM, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 429


def test_the_per_address_limit_is_per_address(client, application, settings):
    limits(settings, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=1, CLIENT_AUTH_MAX_FAILURES=None)
    client_credentials(client, application, secret="guess", address="10.0.0.1")
    assert client_credentials(client, application, secret="guess", address="10.0.0.1").status_code == 429
    assert client_credentials(client, application, address="10.0.0.2").status_code == 200


def test_requests_that_name_no_client_guess_nothing_and_are_not_counted(client, application, settings):
    limits(settings, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=1)
    for _ in range(3):
        response = client.post("/oauth/token/", data="grant_type=client_credentials", content_type=FORM,
                               REMOTE_ADDR="10.0.0.3")
        assert response.status_code == 401
    assert client_credentials(client, application, address="10.0.0.3").status_code == 200


def test_ipv6_addresses_count_per_slash_64(client, application, settings):
    """One subscriber gets a whole /64: rotating through it does not buy more guesses."""
    limits(settings, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=2, CLIENT_AUTH_MAX_FAILURES=None)
    statuses = [client_credentials(client, application, secret="guess", address=f"2001:db8:1:2::{n}").status_code
                for n in range(1, 4)]
    assert statuses == [401, 401, 429]
    assert client_credentials(client, application, address="2001:db8:1:3::1").status_code == 200
    assert ratelimit.address_identity("::ffff:192.0.2.1") == "192.0.2.1"


def test_none_disables_both_limits(client, application, settings):
    limits(settings, CLIENT_AUTH_MAX_FAILURES=None, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=None)
    assert {client_credentials(client, application, secret="guess").status_code for _ in range(40)} == {401}


def test_a_new_window_starts_a_new_count(client, application, settings, frozen_clock):
    limits(settings, CLIENT_AUTH_MAX_FAILURES=1)
    client_credentials(client, application, secret="guess")
    assert client_credentials(client, application).status_code == 429
    frozen_clock["t"] += 50
    assert client_credentials(client, application).status_code == 200


def test_the_default_limits_count_failures_only():
    from oauth_provider.conf import DEFAULTS

    assert DEFAULTS["CLIENT_AUTH_MAX_FAILURES"] == 10
    assert DEFAULTS["CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS"] == 30
    assert DEFAULTS["CLIENT_AUTH_FAILURE_WINDOW"] == 60
    assert DEFAULTS["PASSWORD_GRANT_MAX_FAILURES_PER_ADDRESS"] == 20
    assert DEFAULTS["PUBLIC_DEVICE_AUTHORIZATIONS_PER_ADDRESS"] == 30
    assert DEFAULTS["OPEN_REGISTRATIONS_PER_ADDRESS"] == 10
    assert DEFAULTS["UNAUTHENTICATED_CREATIONS_WINDOW"] == 3600
    assert DEFAULTS["NUM_PROXIES"] == 0
    assert DEFAULTS["THROTTLE_CLASSES"] is None
    assert not any(name.startswith("TOKEN_RATE_LIMIT") for name in DEFAULTS)


def test_a_refused_request_makes_no_database_query(client, application, settings, django_assert_num_queries):
    limits(settings, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=1)
    client_credentials(client, application, secret="guess")
    client_credentials(client, application, secret="guess")  # the lock-out: audited once
    # Refused before the client is even looked up, and not audited again.
    with django_assert_num_queries(0):
        assert client_credentials(client, application).status_code == 429


# --- docs/SECURITY.md S27: the attacker's actions, on the attacker's budget -----------------------------


@pytest.mark.security("S27")
def test_a_strangers_wrong_guesses_do_not_lock_the_client_out(client, application, settings):
    limits(settings, CLIENT_AUTH_MAX_FAILURES=3)
    for _ in range(3):
        assert client_credentials(client, application, secret="guess", address="198.51.100.7").status_code == 401
    assert client_credentials(client, application, address="10.0.0.1").status_code == 200


@pytest.mark.security("S27")
def test_61_unauthenticated_requests_naming_a_client_do_not_lock_the_real_client_out(client):
    """The reproduced attack, with the default limits: a public client id is in every authorization URL."""
    demo_service = ApplicationFactory(client_id="demo-service")
    statuses = [
        client.post("/oauth/token/", data=urlencode({"grant_type": "client_credentials", "client_id": "demo-service"}),
                    content_type=FORM, REMOTE_ADDR="203.0.113.66").status_code
        for _ in range(61)
    ]
    # The attacker's address is refused once the client id has had its 10 failures ...
    assert statuses == [401] * 10 + [429] * 51
    # ... while the real client, from its own address, is served.
    assert client_credentials(client, demo_service, address="10.0.0.1").status_code == 200


@pytest.mark.security("S27")
def test_guesses_from_many_addresses_lock_out_only_the_addresses_that_guessed(client, application):
    """Over the per-client limit, an address that failed for the client is refused; a new address gets
    one attempt; the real client, whose address never failed, is never refused."""
    statuses = [client_credentials(client, application, secret="guess", address=f"203.0.113.{n}").status_code
                for n in range(1, 62)]
    assert statuses == [401] * 61  # each a first attempt of its address, so each is checked and fails
    assert client_credentials(client, application, secret="guess", address="203.0.113.1").status_code == 429
    assert client_credentials(client, application, address="10.0.0.1").status_code == 200
    assert reached("client-auth-identity") == 1


@pytest.mark.security("S27")
def test_a_clients_own_success_forgives_its_own_failures(client, application, settings):
    """A client that was misconfigured for a while is not locked out by its own past failures once it
    authenticates; the failures of other addresses still count."""
    limits(settings, CLIENT_AUTH_MAX_FAILURES=3)
    client_credentials(client, application, secret="old", address="10.0.0.1")
    client_credentials(client, application, secret="old", address="10.0.0.1")
    assert client_credentials(client, application, address="10.0.0.1").status_code == 200
    client_credentials(client, application, secret="guess", address="198.51.100.7")
    client_credentials(client, application, secret="guess", address="198.51.100.7")
    client_credentials(client, application, secret="guess", address="198.51.100.7")
    assert client_credentials(client, application, secret="guess", address="198.51.100.7").status_code == 429
    assert client_credentials(client, application, address="10.0.0.1").status_code == 200


@pytest.mark.security("S27")
def test_70_wrong_secret_introspection_calls_are_refused_after_the_limit(client, application):
    """The reproduced attack, with the default limits: all 70 used to get 401, never 429."""
    statuses = [introspect(client, application, f"guess-{n}").status_code for n in range(70)]
    assert statuses == [401] * 10 + [429] * 60
    response = introspect(client, application, "guess")
    assert response.json() == {"error": "invalid_request", "error_description": "Too many requests; try again later."}
    assert int(response["Retry-After"]) > 0


@pytest.mark.security("S27")
def test_500_successful_token_requests_from_one_address_are_never_throttled(client):
    apps = ApplicationFactory.create_batch(2)
    statuses = {client_credentials(client, apps[n % 2], address="10.0.0.1").status_code for n in range(500)}
    assert statuses == {200}
    assert AccessToken.objects.count() == 500


@pytest.mark.security("S27")
def test_successful_public_clients_and_introspection_are_not_counted(client, application):
    public = DeviceApplicationFactory()
    for _ in range(40):
        assert introspect(client, application, application.secret).status_code == 200
        assert client.post("/oauth/revoke/", data=urlencode({"client_id": public.client_id, "token": "x"}),
                           content_type=FORM).status_code == 200


@pytest.mark.security("S27")
def test_each_lock_out_is_audited_once_per_window(client, settings, frozen_clock):
    limits(settings, CLIENT_AUTH_MAX_FAILURES=2, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=3)
    first, second = ApplicationFactory.create_batch(2)
    client_credentials(client, first, secret="guess", address="198.51.100.7")
    client_credentials(client, first, secret="guess", address="198.51.100.7")  # uses up the client's limit
    client_credentials(client, second, secret="guess", address="198.51.100.7")  # uses up the address's
    for n in range(40):
        assert client_credentials(client, (first, second)[n % 2], secret="guess",
                                  address="198.51.100.7").status_code == 429
    events = AuditEvent.objects.filter(event=audit.RATE_LIMIT_REACHED).order_by("pk")
    assert [event.details["limit"] for event in events] == ["client-auth-identity", "client-auth-address"]
    assert [event.client_id for event in events] == [first.client_id, second.client_id]
    assert {event.ip_address for event in events} == {"198.51.100.7"}
    assert AuditEvent.objects.filter(event=audit.CLIENT_AUTH_FAILED).count() == 3
    frozen_clock["t"] += 60
    client_credentials(client, first, secret="guess", address="198.51.100.7")
    client_credentials(client, first, secret="guess", address="198.51.100.7")
    client_credentials(client, first, secret="guess", address="198.51.100.7")
    assert reached("client-auth-identity") == 2


@pytest.mark.security("S27")
def test_an_address_that_failed_for_one_client_is_not_refused_for_another(client, settings):
    """The per-client limit refuses addresses per client: a shared office address is not locked out of
    other clients by one misconfigured service (only its per-address failures are shared)."""
    limits(settings, CLIENT_AUTH_MAX_FAILURES=2)
    broken, working = ApplicationFactory.create_batch(2)
    for _ in range(3):
        client_credentials(client, broken, secret="old")
    assert client_credentials(client, broken, secret="old").status_code == 429
    assert client_credentials(client, working).status_code == 200


# --- the trusted proxies (NUM_PROXIES) ---------------------------------------------------------------


@pytest.mark.security("S27")
def test_behind_a_trusted_proxy_the_clients_address_is_counted(client, application, settings):
    limits(settings, NUM_PROXIES=1, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=2, CLIENT_AUTH_MAX_FAILURES=None)
    proxy = "10.0.0.254"
    for _ in range(2):
        client_credentials(client, application, secret="guess", address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    attacker = client_credentials(client, application, secret="guess", address=proxy,
                                  HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert attacker.status_code == 429
    # Another client behind the same proxy is not refused, and the audit trail names the client's address.
    assert client_credentials(client, application, address=proxy, HTTP_X_FORWARDED_FOR="192.0.2.10").status_code == 200
    assert set(AuditEvent.objects.exclude(ip_address=None).values_list("ip_address", flat=True)) == {
        "198.51.100.7", "192.0.2.10"}


@pytest.mark.security("S27")
def test_a_spoofed_forwarded_for_is_ignored_without_trusted_proxies(client, application, settings):
    limits(settings, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=2, CLIENT_AUTH_MAX_FAILURES=None)
    statuses = [client_credentials(client, application, secret="guess", address="198.51.100.7",
                                   HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code for n in range(3)]
    assert statuses == [401, 401, 429]


@pytest.mark.security("S27")
def test_a_client_cannot_choose_its_address_by_prepending_to_the_forwarded_header(client, application, settings):
    limits(settings, NUM_PROXIES=1, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=2, CLIENT_AUTH_MAX_FAILURES=None)
    statuses = [client_credentials(client, application, secret="guess", address="10.0.0.254",
                                   HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.7").status_code for n in range(3)]
    assert statuses == [401, 401, 429]


# --- rows for unauthenticated callers ----------------------------------------------------------------


@pytest.mark.security("S27")
def test_50_device_authorizations_from_one_address_are_limited(client):
    """The reproduced attack: 50 of 50 used to create a row each."""
    public = DeviceApplicationFactory()
    statuses = [
        client.post("/oauth/device/", data=urlencode({"client_id": public.client_id}), content_type=FORM,
                    REMOTE_ADDR="203.0.113.5").status_code
        for _ in range(50)
    ]
    assert statuses == [200] * 30 + [429] * 20
    assert DeviceCode.objects.count() == 30
    assert reached("device-authorization-address") == 1
    other = client.post("/oauth/device/", data=urlencode({"client_id": public.client_id}), content_type=FORM,
                        REMOTE_ADDR="203.0.113.6")
    assert other.status_code == 200


def test_confidential_device_clients_are_authenticated_and_not_limited(client, settings):
    limits(settings, PUBLIC_DEVICE_AUTHORIZATIONS_PER_ADDRESS=1)
    tv_backend = ApplicationFactory(grant_types=["urn:ietf:params:oauth:grant-type:device_code"])
    for _ in range(3):
        assert device_authorization(client, tv_backend).status_code == 200


@pytest.mark.security("S27")
def test_open_registration_has_a_per_address_budget(client, settings):
    limits(settings, REGISTRATION_MODE="open", OPEN_REGISTRATIONS_PER_ADDRESS=3)
    body = json.dumps({"client_name": "Spam", "grant_types": ["client_credentials"]})
    statuses = [client.post("/oauth/register/", data=body, content_type="application/json",
                            REMOTE_ADDR="203.0.113.9").status_code for _ in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert Application.objects.count() == 3
    refused = client.post("/oauth/register/", data=body, content_type="application/json", REMOTE_ADDR="203.0.113.9")
    assert refused.json()["error"] == "invalid_request" and int(refused["Retry-After"]) > 0


@pytest.mark.security("S27")
def test_wrong_initial_access_tokens_are_limited_per_address(client, settings):
    limits(settings, REGISTRATION_MODE="initial_access_token", CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=2)
    body = json.dumps({"client_name": "x", "grant_types": ["client_credentials"]})
    statuses = [client.post("/oauth/register/", data=body, content_type="application/json",
                            HTTP_AUTHORIZATION=f"Bearer guess-{n}", REMOTE_ADDR="203.0.113.9").status_code
                for n in range(3)]
    assert statuses == [401, 401, 429]


@pytest.mark.security("S27")
def test_wrong_registration_access_tokens_are_limited_per_client(client, settings):
    limits(settings, REGISTRATION_MODE="open", CLIENT_AUTH_MAX_FAILURES=2)
    body = json.dumps({"client_name": "x", "grant_types": ["client_credentials"]})
    info = client.post("/oauth/register/", data=body, content_type="application/json").json()
    path = info["registration_client_uri"].removeprefix("http://testserver")
    statuses = [client.get(path, HTTP_AUTHORIZATION=f"Bearer guess-{n}", REMOTE_ADDR="203.0.113.9").status_code
                for n in range(3)]
    assert statuses == [401, 401, 429]
    # The client itself, from its own address, still manages its registration.
    own = client.get(path, HTTP_AUTHORIZATION=f"Bearer {info['registration_access_token']}", REMOTE_ADDR="10.0.0.1")
    assert own.status_code == 200


# --- the counters ------------------------------------------------------------------------------------


def test_hit_counts_and_refuses_over_the_limit_and_reset_forgets(frozen_clock):
    limit = RateLimit("unit", limit=2, window=60)
    limit.hit("x")
    limit.hit("x")
    with pytest.raises(RateLimitExceeded) as exc:
        limit.hit("x")
    assert exc.value.retry_after == 50
    limit.reset("x")
    limit.hit("x")


def test_identities_with_characters_caches_refuse_are_digested(frozen_clock):
    limit = RateLimit("unit", limit=1, window=60)
    limit.hit("ünïcode with spaces\n" + "x" * 500)
    with pytest.raises(RateLimitExceeded):
        limit.hit("ünïcode with spaces\n" + "x" * 500)


def budget(**values) -> FailureBudget:
    return FailureBudget(**{"name": "unit", "per_identity": 2, "per_address": 10, "window": 60, **values})


class Wrong(Exception):
    pass


def attempt(unit: FailureBudget, identity: str, address: str, *, right: bool) -> str:
    """'refused', 'failed' or 'succeeded'."""
    from oauth_provider.http import RequestContext

    try:
        with unit.attempt(identity, RequestContext(ip_address=address), failure=Wrong):
            if not right:
                raise Wrong
    except RateLimitExceeded:
        return "refused"
    except Wrong:
        return "failed"
    return "succeeded"


def test_a_failure_stays_counted_and_a_success_gives_its_count_back(frozen_clock):
    unit = budget(per_identity=None, per_address=2)
    assert [attempt(unit, "id", "192.0.2.1", right=True) for _ in range(10)] == ["succeeded"] * 10
    assert [attempt(unit, "id", "192.0.2.1", right=False) for _ in range(3)] == ["failed", "failed", "refused"]


def test_another_exception_is_not_counted_as_a_failure(frozen_clock):
    from oauth_provider.http import RequestContext

    unit = budget(per_identity=None, per_address=1)
    for _ in range(3):
        with pytest.raises(KeyError), unit.attempt("id", RequestContext(ip_address="192.0.2.1"), failure=Wrong):
            raise KeyError("the database went away")
    assert attempt(unit, "id", "192.0.2.1", right=True) == "succeeded"


def test_a_proven_identity_is_refused_outright_over_its_limit(frozen_clock):
    unit = budget(claimed=False)
    attempt(unit, "user-1", "192.0.2.1", right=False)
    attempt(unit, "user-1", "192.0.2.1", right=False)
    assert attempt(unit, "user-1", "192.0.2.2", right=True) == "refused"


def test_a_claimed_identity_refuses_only_the_addresses_that_failed_for_it(frozen_clock):
    unit = budget()
    assert [attempt(unit, "id", "192.0.2.1", right=False) for _ in range(3)] == ["failed", "failed", "refused"]
    assert attempt(unit, "id", "192.0.2.2", right=False) == "failed"  # a new address: one attempt
    assert attempt(unit, "id", "192.0.2.2", right=True) == "refused"
    assert attempt(unit, "id", "192.0.2.3", right=True) == "succeeded"
    assert attempt(unit, "id", "192.0.2.3", right=True) == "succeeded"


def test_parallel_attempts_are_counted_before_any_is_checked(frozen_clock, settings):
    """Twenty threads reserve at once while every check is still running: exactly the limit is checked."""
    limits(settings, AUDIT_ENABLED=False)  # no audit row from another thread's connection
    unit = budget(per_identity=5, per_address=None)
    checked = []
    barrier = threading.Barrier(20)
    outcomes = []

    def worker():
        from oauth_provider.http import RequestContext

        barrier.wait()
        try:
            with unit.attempt("victim", RequestContext(ip_address="192.0.2.1"), failure=Wrong):
                checked.append(1)
                barrier_checks.wait(timeout=2)
                raise Wrong
        except RateLimitExceeded:
            outcomes.append("refused")
        except Wrong:
            outcomes.append("failed")

    barrier_checks = threading.Barrier(5)
    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(checked) == 5
    assert sorted(outcomes) == ["failed"] * 5 + ["refused"] * 15


def test_parallel_successes_wait_for_each_other_and_are_all_served(frozen_clock):
    """Twenty parallel successes against a limit of 5: the ones that find 5 in flight wait for them."""
    unit = budget(per_identity=5, per_address=5)
    barrier = threading.Barrier(20)
    outcomes = []

    def worker():
        barrier.wait()
        outcomes.append(attempt(unit, "busy-client", "192.0.2.1", right=True))

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert outcomes == ["succeeded"] * 20


def test_a_refused_attempt_waits_only_for_attempts_in_flight(frozen_clock, monkeypatch):
    slept = []
    monkeypatch.setattr(ratelimit, "_sleep", slept.append)
    unit = budget(per_identity=None, per_address=1)
    attempt(unit, "id", "192.0.2.1", right=False)
    assert attempt(unit, "id", "192.0.2.1", right=True) == "refused"
    assert slept == []  # confirmed failures: refused at once, no worker held
    from oauth_provider.http import RequestContext

    held = unit.reserve("id", RequestContext(ip_address="192.0.2.9"))
    assert attempt(unit, "id", "192.0.2.9", right=True) == "refused"  # the other never settles
    assert slept == list(ratelimit.WAIT_STEPS) and sum(slept) <= 2.5
    held.succeeded()
    assert attempt(unit, "id", "192.0.2.9", right=True) == "succeeded"


# --- Redis ---------------------------------------------------------------------------------------------


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_cache():
    if not _redis_reachable():
        print("Redis is not reachable at 127.0.0.1:6379: the Redis rate-limit test is skipped")
        pytest.skip("Redis is not reachable at 127.0.0.1:6379 (CI provides it)")
    prefix = f"oauth-test-{uuid.uuid4().hex}"
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": prefix,
        },
    }
    with override_settings(CACHES=caches):
        from django.core.cache import caches as configured

        yield configured["ratelimit"]
        # Remove only this test's keys: other checkouts may share the server.
        raw = configured["ratelimit"]._cache.get_client(write=True)
        for key in raw.scan_iter(f"{prefix}:*"):
            raw.delete(key)


def test_failures_count_in_redis_across_cache_connections(client, application, settings, redis_cache):
    limits(settings, RATE_LIMIT_CACHE="ratelimit", CLIENT_AUTH_MAX_FAILURES=2)
    assert client_credentials(client, application, secret="guess").status_code == 401
    assert client_credentials(client, application, secret="guess").status_code == 401
    response = client_credentials(client, application, secret="guess")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    # The counters are real Redis keys that expire by themselves with their window.
    raw = redis_cache._cache.get_client()
    failures = [key for key in raw.scan_iter(f"{redis_cache.key_prefix}:*") if b"client-auth-identity-failures" in key]
    assert len(failures) == 1
    assert int(raw.get(failures[0])) == 2  # the refused attempt is not counted
    assert 0 < raw.ttl(failures[0]) <= 61
    inflight = [key for key in raw.scan_iter(f"{redis_cache.key_prefix}:*") if b"client-auth-identity-inflight" in key]
    assert [int(raw.get(key)) for key in inflight] == [0]


def test_successes_in_redis_give_their_count_back(client, application, settings, redis_cache):
    limits(settings, RATE_LIMIT_CACHE="ratelimit")
    for _ in range(50):
        assert client_credentials(client, application).status_code == 200
    raw = redis_cache._cache.get_client()
    values = [int(raw.get(key)) for key in raw.scan_iter(f"{redis_cache.key_prefix}:*")]
    assert values and set(values) == {0}
    assert all(0 < raw.ttl(key) <= 61 for key in raw.scan_iter(f"{redis_cache.key_prefix}:*"))


def test_parallel_hits_in_redis_lose_no_count(settings, redis_cache):
    limits(settings, RATE_LIMIT_CACHE="ratelimit")
    limit = RateLimit("parallel", limit=10, window=60)
    barrier = threading.Barrier(20)
    outcomes = []

    def worker():
        barrier.wait()
        try:
            limit.hit("one-client")
            outcomes.append("allowed")
        except RateLimitExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == ["allowed"] * 10 + ["refused"] * 10


def test_parallel_attempts_in_redis_check_exactly_the_limit(settings, redis_cache):
    limits(settings, RATE_LIMIT_CACHE="ratelimit", AUDIT_ENABLED=False)
    unit = budget(per_identity=5, per_address=None)
    barrier = threading.Barrier(20)
    checks = threading.Barrier(5)
    outcomes = []

    def worker():
        from oauth_provider.http import RequestContext

        barrier.wait()
        try:
            with unit.attempt("victim", RequestContext(ip_address="192.0.2.1"), failure=Wrong):
                outcomes.append("checked")
                checks.wait(timeout=2)
                raise Wrong
        except (RateLimitExceeded, Wrong):
            pass

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert outcomes == ["checked"] * 5


@pytest.mark.security("S23")
def test_secret_guessing_gets_429_with_retry_after_and_then_even_the_real_secret_waits(client, settings):
    """S23 under the S27 rule: failures are what is counted, and the address that guessed is refused
    even with the real secret until the window ends (the limit is not an oracle)."""
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "CLIENT_AUTH_MAX_FAILURES": 5}
    app = ApplicationFactory()
    guesses = [
        Client().post("/oauth/token/", urlencode({"grant_type": "client_credentials", "client_id": app.client_id,
                                                  "client_secret": f"guess-{n}"}), content_type=FORM)
        for n in range(6)
    ]
    assert [response.status_code for response in guesses] == [401] * 5 + [429]
    assert int(guesses[-1]["Retry-After"]) > 0
    assert token_request(client, app, {"grant_type": "client_credentials"}).status_code == 429
    # From an address that never guessed, the real client is served.
    assert token_request(client, app, {"grant_type": "client_credentials"}, REMOTE_ADDR="10.0.0.1").status_code == 200
