"""Fetching a sector_identifier_uri safely (OpenID Connect Core §8.1): https only, no redirects,
bounded in size and time, never an internal address; loopback only when the test setting allows."""

import json
import time

import pytest
from django.test import override_settings

from oauth_provider.oidc.sectors import SectorIdentifierError, fetch_sector_redirect_uris, verify_sector_identifier
from tests.helpers.sector import sector_server

URIS = ["https://a.example.test/cb", "https://b.example.test/cb"]


@pytest.fixture
def loopback_allowed(settings):
    with override_settings(
        OAUTH_PROVIDER={
            **settings.OAUTH_PROVIDER,
            "SECTOR_IDENTIFIER_ALLOW_LOOPBACK": True,
            "SECTOR_IDENTIFIER_TIMEOUT": 1,
            "SECTOR_IDENTIFIER_MAX_BYTES": 1000,
        }
    ):
        yield


def test_the_listed_redirect_uris_are_read(loopback_allowed):
    with sector_server({"/s.json": (200, {"Content-Type": "application/json"}, json.dumps(URIS).encode(), 0)}) as base:
        assert fetch_sector_redirect_uris(base + "/s.json") == URIS
        verify_sector_identifier(base + "/s.json", URIS[:1])


def test_a_redirect_uri_missing_from_the_document_is_refused(loopback_allowed):
    with (
        sector_server({"/s.json": (200, {}, json.dumps(URIS[:1]).encode(), 0)}) as base,
        pytest.raises(SectorIdentifierError, match="does not list every redirect URI"),
    ):
        verify_sector_identifier(base + "/s.json", URIS)


def test_redirects_are_never_followed(loopback_allowed):
    with (
        sector_server(
            {"/s.json": (302, {"Location": "/t.json"}, b"", 0), "/t.json": (200, {}, json.dumps(URIS).encode(), 0)}
        ) as base,
        pytest.raises(SectorIdentifierError, match="redirect"),
    ):
        fetch_sector_redirect_uris(base + "/s.json")


def test_a_document_over_the_size_limit_is_refused(loopback_allowed):
    big = json.dumps([f"https://a.example.test/{i}" for i in range(100)]).encode()
    with (
        sector_server({"/s.json": (200, {}, big, 0)}) as base,
        pytest.raises(SectorIdentifierError, match="larger than 1000 bytes"),
    ):
        fetch_sector_redirect_uris(base + "/s.json")


def test_a_server_dripping_bytes_is_cut_off_at_the_deadline(loopback_allowed):
    with sector_server({"/s.json": (200, {}, json.dumps(URIS).encode(), 0.05)}) as base:
        started = time.monotonic()
        with pytest.raises(SectorIdentifierError, match=r"too long|could not be fetched"):
            fetch_sector_redirect_uris(base + "/s.json")
        assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "body, message", [(b"not json", "not JSON"), (b'{"a": 1}', "JSON array"), (b"[1, 2]", "JSON array")]
)
def test_a_document_that_is_not_an_array_of_strings_is_refused(loopback_allowed, body, message):
    with sector_server({"/s.json": (200, {}, body, 0)}) as base, pytest.raises(SectorIdentifierError, match=message):
        fetch_sector_redirect_uris(base + "/s.json")


def test_an_error_status_is_refused(loopback_allowed):
    with (
        sector_server({}) as base,
        pytest.raises(SectorIdentifierError, match=r"could not be fetched|did not answer 200"),
    ):
        fetch_sector_redirect_uris(base + "/missing.json")


def test_loopback_is_refused_without_the_test_setting():
    with (
        sector_server({"/s.json": (200, {}, json.dumps(URIS).encode(), 0)}) as base,
        pytest.raises(SectorIdentifierError, match="https"),
    ):
        fetch_sector_redirect_uris(base + "/s.json")
        with pytest.raises(SectorIdentifierError, match="not a public address"):
            fetch_sector_redirect_uris(base.replace("http://", "https://") + "/s.json")


@pytest.mark.parametrize(
    "uri",
    [
        "https://10.0.0.1/s.json",
        "https://192.168.1.1/s.json",
        "https://169.254.169.254/latest",
        "https://[::1]/s.json",
        "https://localhost/s.json",
    ],
)
def test_internal_addresses_are_never_fetched(uri):
    with pytest.raises(SectorIdentifierError, match="not a public address"):
        fetch_sector_redirect_uris(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "http://sector.example.test/s.json",
        "ftp://sector.example.test/s",
        "file:///etc/passwd",
        "https://user:pw@sector.example.test/s",
        "https://sector.example.test/s#frag",
        "https:///s",
    ],
)
def test_only_plain_https_urls_are_accepted(uri):
    with pytest.raises(SectorIdentifierError):
        fetch_sector_redirect_uris(uri)
