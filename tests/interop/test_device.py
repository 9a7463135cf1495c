"""The device flow against a live server: Authlib's OAuth2Session as the device, and the example
site's device client (``example_project/device_client.py``) with its sleep and clock injected."""

import io
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from example_project import device_client
from oauth_provider.models import AccessToken, DeviceCode, DeviceCodeStatus, GrantType
from tests.factories import UserFactory
from tests.helpers.device import decide
from tests.helpers.live import metadata, verify

pytestmark = pytest.mark.django_db(transaction=True)

DEVICE_GRANT = GrantType.DEVICE_CODE.value


@pytest.fixture
def browser():
    """A user's browser on the verification page (the Django test client, same database)."""
    browser = Client()
    browser.force_login(UserFactory())
    return browser


def pending_code() -> DeviceCode:
    return DeviceCode.objects.get(status=DeviceCodeStatus.PENDING)


# --- Authlib -------------------------------------------------------------------------------------


def test_authlib_device_flow_gets_a_token_that_pyjwkclient_verifies(live_issuer, device_app, browser):
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.requests_client import OAuth2Session

    endpoints = metadata(live_issuer)
    with OAuth2Session(device_app.client_id, token_endpoint_auth_method="none", scope="read write") as session:
        grant = session.post(endpoints["device_authorization_endpoint"], withhold_token=True,
                             data={"client_id": device_app.client_id, "scope": "read write"}).json()
        with pytest.raises(OAuthError) as pending:
            session.fetch_token(endpoints["token_endpoint"], grant_type=DEVICE_GRANT,
                                device_code=grant["device_code"])
        assert pending.value.error == "authorization_pending"
        assert decide(browser, grant["user_code"]).status_code == 303
        token = session.fetch_token(endpoints["token_endpoint"], grant_type=DEVICE_GRANT,
                                    device_code=grant["device_code"])
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "read write"
    assert "refresh_token" in token
    claims = verify(live_issuer, token["access_token"])
    assert claims["client_id"] == device_app.client_id


def test_authlib_sees_access_denied_after_a_denial(live_issuer, device_app, browser):
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.requests_client import OAuth2Session

    endpoints = metadata(live_issuer)
    with OAuth2Session(device_app.client_id, token_endpoint_auth_method="none") as session:
        grant = session.post(endpoints["device_authorization_endpoint"], withhold_token=True,
                             data={"client_id": device_app.client_id}).json()
        decide(browser, grant["user_code"], "deny")
        with pytest.raises(OAuthError) as denied:
            session.fetch_token(endpoints["token_endpoint"], grant_type=DEVICE_GRANT,
                                device_code=grant["device_code"])
    assert denied.value.error == "access_denied"


def test_metadata_passes_authlibs_rfc8414_validation_with_the_device_endpoint(live_issuer):
    from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

    document = AuthorizationServerMetadata(metadata(live_issuer))
    document.validate()
    assert document["device_authorization_endpoint"] == f"{live_issuer}/oauth/device/"


# --- the example site's device client ------------------------------------------------------------


class FakeTime:
    """A clock that only moves when the client sleeps, and a sleep that runs a hook instead of waiting."""

    def __init__(self, on_sleep=None):
        self.now = 1000.0
        self.slept: list[float] = []
        self.on_sleep = on_sleep or (lambda n: None)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.on_sleep(len(self.slept))


def age_polls(seconds: int) -> None:
    """What real waiting does on the server's side: the last poll moves into the past."""
    DeviceCode.objects.update(last_polled_at=timezone.now() - timedelta(seconds=seconds))


def run_client(live_issuer, device_app, fake: FakeTime) -> tuple[int, str]:
    out = io.StringIO()
    status = device_client.run(live_issuer, device_app.client_id, "read", sleep=fake.sleep, clock=fake.clock,
                               out=out)
    return status, out.getvalue()


def test_device_client_prints_the_code_and_the_claims_once_approved(live_issuer, device_app, browser):
    def on_sleep(n):
        age_polls(60)
        if n == 2:
            assert decide(browser, pending_code().user_code).status_code == 303

    fake = FakeTime(on_sleep)
    status, output = run_client(live_issuer, device_app, fake)
    assert status == 0, output
    user_code = DeviceCode.objects.get().user_code
    assert f"{user_code[:4]}-{user_code[4:]}" in output
    assert f"{live_issuer}/oauth/device/verify/" in output
    assert "waiting for approval" in output
    assert f'"client_id": "{device_app.client_id}"' in output
    assert fake.slept == [5, 5]
    assert AccessToken.objects.count() == 1


def test_device_client_honours_slow_down(live_issuer, device_app, browser):
    def on_sleep(n):  # no server-side time passes: the second poll is too fast
        if n == 3:
            decide(browser, pending_code().user_code)

    fake = FakeTime(on_sleep)
    status, output = run_client(live_issuer, device_app, fake)
    assert status == 0, output
    assert "slow down" in output
    assert fake.slept == [5, 5, 10]


def test_device_client_stops_on_denial(live_issuer, device_app, browser):
    fake = FakeTime(lambda n: decide(browser, pending_code().user_code, "deny"))
    status, output = run_client(live_issuer, device_app, fake)
    assert status == 1
    assert "access_denied" in output
    assert fake.slept == [5]


def test_device_client_stops_when_the_server_says_expired(live_issuer, device_app):
    fake = FakeTime(lambda n: DeviceCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1)))
    status, output = run_client(live_issuer, device_app, fake)
    assert status == 1
    assert "expired_token" in output


def test_device_client_never_polls_past_expires_in(live_issuer, device_app, settings):
    fake = FakeTime(lambda n: age_polls(60))
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "ISSUER": live_issuer,
                                           "DEVICE_CODE_LIFETIME": 20}):
        status, output = run_client(live_issuer, device_app, fake)
    assert status == 1
    assert "expired" in output
    assert sum(fake.slept) < 20
    assert fake.slept == [5, 5, 5]


def test_device_client_reports_an_unknown_client(live_issuer, db):
    fake = FakeTime()
    out = io.StringIO()
    assert device_client.run(live_issuer, "no-such-client", sleep=fake.sleep, clock=fake.clock, out=out) == 1
    assert "invalid_client" in out.getvalue()
    assert fake.slept == []


def test_device_client_refuses_non_http_urls():
    with pytest.raises(device_client.DeviceFlowError):
        device_client.discover("file:///etc")


def test_device_client_calls_the_demo_api_with_its_token(live_issuer, device_app, browser):
    def on_sleep(n):
        decide(browser, pending_code().user_code)

    fake = FakeTime(on_sleep)
    out = io.StringIO()
    status = device_client.run(live_issuer, device_app.client_id, "read", f"{live_issuer}/api/me",
                               sleep=fake.sleep, clock=fake.clock, out=out)
    output = out.getvalue()
    assert status == 0, output
    assert f"GET {live_issuer}/api/me -> 200" in output
    assert f'"username": "{DeviceCode.objects.get().user.username}"' in output
