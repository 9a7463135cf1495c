"""The one opener for URLs that untrusted parties register (client jwks_uri, sector_identifier_uri): the
address actually connected to must be public, whatever DNS said before (docs/SECURITY.md S35)."""

from __future__ import annotations

import urllib.error

import pytest

from oauth_provider.keys import remote
from tests.helpers.jwt import start_jwks_server


@pytest.fixture
def local_server():
    state, server = start_jwks_server()
    state.serve("/doc", ["http://127.0.0.1/cb"])
    yield state
    server.shutdown()


@pytest.mark.security("S35")
def test_a_connection_to_a_loopback_address_is_refused_before_the_request_is_sent(local_server):
    with pytest.raises(urllib.error.URLError) as caught:
        remote.public_opener(lambda: False).open(local_server.url + "/doc", timeout=5)
    assert isinstance(caught.value.reason, remote.NonPublicAddress)
    assert local_server.requests == []  # not a byte of the request reached the server


def test_loopback_is_allowed_only_when_the_setting_says_so(local_server):
    with remote.public_opener(lambda: True).open(local_server.url + "/doc", timeout=5) as response:
        assert response.status == 200
    assert local_server.requests == ["/doc"]


@pytest.mark.security("S32")
def test_a_sector_identifier_whose_name_passed_the_check_is_still_refused_on_a_private_connection(
    local_server, monkeypatch, settings
):
    """DNS rebinding: the name looked public when checked, then resolved to this machine when fetched."""
    from oauth_provider.oidc import sectors

    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "SECTOR_IDENTIFIER_ALLOW_LOOPBACK": False}
    monkeypatch.setattr(sectors, "_loopback_allowed", lambda host, scheme: True)  # the form check passes
    monkeypatch.setattr(sectors, "_check_address", lambda host: None)  # and so did the earlier resolution
    with pytest.raises(sectors.SectorIdentifierError, match="could not be fetched"):
        sectors.fetch_sector_redirect_uris(local_server.url + "/doc")
    assert local_server.requests == []
