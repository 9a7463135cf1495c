"""Redirect URI registration rules (RFC 9700 §4.1.3, RFC 8252 §7.3): what a client may register."""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import WebApplicationFactory

pytestmark = pytest.mark.django_db


@pytest.mark.security("S1")
@pytest.mark.parametrize("uri", ["https://*.example.com/cb", "https://client.example.com/cb#fragment",
                                 "http://client.example.com/cb"])
def test_registered_redirect_uris_allow_no_wildcard_no_fragment_and_http_only_for_loopback(uri):
    app = WebApplicationFactory.build(redirect_uris=uri)
    with pytest.raises(ValidationError):
        app.full_clean()
