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
