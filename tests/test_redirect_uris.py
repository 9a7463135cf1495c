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


# --- confusable redirect URIs ------------------------------------------------------------------------


@pytest.mark.parametrize("uri", [
    "https://client.example.com\\@evil.example/cb",
    "https://client.example.com\\evil/cb",
    "https://client.example.com/cb\\..\\x",
])
def test_a_redirect_uri_with_a_backslash_is_refused(uri):
    from oauth_provider.redirect_uris import validate_redirect_uri

    with pytest.raises(ValidationError, match="backslash"):
        validate_redirect_uri(uri)


@pytest.mark.parametrize("uri", [
    "https://\u0430pple.com/cb",  # Cyrillic a: a homograph of apple.com
    "https://paypal.c\u043em/cb",
    "https://b\u00fccher.example/cb",  # a real IDN, but not in its IDNA form
])
def test_a_non_ascii_host_is_refused_until_written_as_idna(uri):
    from oauth_provider.redirect_uris import validate_redirect_uri

    with pytest.raises(ValidationError) as refused:
        validate_redirect_uri(uri)
    assert refused.value.code == "confusable"


def test_a_punycode_label_that_mixes_scripts_is_refused():
    from oauth_provider.redirect_uris import validate_redirect_uri

    mixed = "xn--" + "p\u0430ypal".encode("punycode").decode("ascii")  # Latin with a Cyrillic a
    with pytest.raises(ValidationError) as refused:
        validate_redirect_uri(f"https://{mixed}.com/cb")
    assert refused.value.code == "confusable"


@pytest.mark.parametrize("host", ["xn--bcher-kva.example", "xn--80ak6aa92e.com", "client.example.com"])
def test_idna_hosts_of_one_script_are_accepted(host):
    from oauth_provider.redirect_uris import validate_redirect_uri

    validate_redirect_uri(f"https://{host}/cb")


def test_a_broken_punycode_label_is_refused():
    from oauth_provider.redirect_uris import validate_redirect_uri

    with pytest.raises(ValidationError):
        validate_redirect_uri("https://xn--a-ecp.xn--zz/cb")
