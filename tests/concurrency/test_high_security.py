"""Single use across connections on PostgreSQL: client assertion jtis and pushed request_uris."""

from __future__ import annotations

import pytest
from django.test import Client

from oauth_provider.clients.assertion import verify_client_assertion
from oauth_provider.clients.pushed_requests import claim_pushed_request, spend_pushed_request
from oauth_provider.errors import InvalidRequestUri, RejectedClientAssertion
from oauth_provider.models import ClientAssertionJti, PushedAuthorizationRequest
from tests.factories import WebApplicationFactory
from tests.helpers.assertions import ISSUER, TOKEN_URL, client_assertion, private_key_jwt_client
from tests.helpers.flows import authorize_params, post_as
from tests.helpers.races import THREADS, race_calls

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_parallel_uses_of_one_assertion_authenticate_once():
    app = private_key_jwt_client()
    assertion = client_assertion(app)
    outcomes = race_calls(lambda: verify_client_assertion(app, assertion, audiences=[ISSUER, TOKEN_URL]))
    accepted = [o for o in outcomes if isinstance(o, dict)]
    replays = [o for o in outcomes if isinstance(o, RejectedClientAssertion) and o.reason == "replayed_jti"]
    assert len(accepted) == 1 and len(replays) == THREADS - 1
    assert ClientAssertionJti.objects.count() == 1


def _request_uri(app) -> str:
    params = authorize_params(app)
    params.pop("client_id")
    return post_as(Client(), "/oauth/par/", app, params).json()["request_uri"]


def test_twenty_browsers_arriving_with_one_request_uri_give_one_claim():
    app = WebApplicationFactory()
    request_uri = _request_uri(app)
    outcomes = race_calls(lambda: claim_pushed_request(app, request_uri, None))
    claims = [o for o in outcomes if isinstance(o, tuple)]
    assert len(claims) == 1
    assert sum(isinstance(o, InvalidRequestUri) for o in outcomes) == THREADS - 1


def test_twenty_parallel_decisions_on_one_pushed_request_spend_it_once():
    app = WebApplicationFactory()
    request_uri = _request_uri(app)
    row, claim = claim_pushed_request(app, request_uri, None)
    outcomes = race_calls(lambda: spend_pushed_request(row, claim))
    assert outcomes.count(None) == 1
    assert sum(isinstance(o, InvalidRequestUri) for o in outcomes) == THREADS - 1
    assert PushedAuthorizationRequest.objects.get().used_at is not None


# --- the same rules through the endpoints ------------------------------------------------------------


@pytest.mark.security("S35")
def test_twenty_parallel_token_requests_with_one_assertion_give_one_token():
    from urllib.parse import urlencode

    from oauth_provider.keys import get_signing_key
    from oauth_provider.models import AccessToken
    from tests.helpers.assertions import assertion_params
    from tests.helpers.flows import FORM
    from tests.helpers.races import race

    get_signing_key()
    app = private_key_jwt_client()
    body = urlencode({"grant_type": "client_credentials", **assertion_params(client_assertion(app))})
    # The 19 replays are failed authentications: lift the failure limits (docs/SECURITY.md S27), which
    # would answer some of them 429 instead, so that each replay meets the single-use rule itself.
    from django.test import override_settings

    from tests.helpers.jwt import oauth_settings_with

    no_limits = oauth_settings_with(CLIENT_AUTH_MAX_FAILURES=None, CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS=None)
    with override_settings(OAUTH_PROVIDER=no_limits):
        results = race(lambda client: client.post("/oauth/token/", data=body, content_type=FORM))
    assert sorted(status for status, _ in results) == [200] + [401] * (THREADS - 1)
    assert {error for status, error in results if status != 200} == {"invalid_client"}
    assert AccessToken.objects.count() == 1


def test_twenty_browsers_with_one_request_uri_one_sees_the_consent_page():
    from oauth_provider.models import Application
    from tests.factories import UserFactory

    app = WebApplicationFactory()
    request_uri = _request_uri(app)
    users = [UserFactory() for _ in range(THREADS)]
    browsers = []
    for user in users:
        browser = Client()
        browser.force_login(user)
        browsers.append(browser)
    queue = list(browsers)
    query = f"client_id={app.client_id}&request_uri={request_uri}"

    def arrive():
        return queue.pop().get(f"/oauth/authorize/?{query}").status_code

    statuses = race_calls(arrive)
    assert sorted(statuses) == [200] + [400] * (THREADS - 1)
    assert Application.objects.count() == 1


def test_twenty_parallel_approvals_of_one_pushed_request_give_one_code():
    from oauth_provider.keys import get_signing_key
    from oauth_provider.models import AuthorizationCode
    from tests.factories import UserFactory

    get_signing_key()
    app = WebApplicationFactory()
    request_uri = _request_uri(app)
    browser = Client()
    browser.force_login(UserFactory())
    url = f"/oauth/authorize/?client_id={app.client_id}&request_uri={request_uri}"
    assert browser.get(url).status_code == 200  # claimed by this browser's session
    cookies = browser.cookies

    def approve():
        twin = Client()
        twin.cookies = cookies  # the same browser, twenty tabs
        return twin.post(url, {"decision": "allow"}).status_code

    statuses = race_calls(approve)
    assert sorted(statuses) == [303] + [400] * (THREADS - 1)
    assert AuthorizationCode.objects.count() == 1
