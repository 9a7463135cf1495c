"""User codes (RFC 8628 §6.1): alphabet, length, entropy source, entry normalisation, uniqueness."""

import math
import re

import pytest

from oauth_provider.endpoints import device
from oauth_provider.endpoints.device import (
    USER_CODE_ALPHABET,
    format_user_code,
    generate_user_code,
    issue_device_code,
    normalise_user_code,
)
from oauth_provider.errors import ServerError
from oauth_provider.models import DeviceCode
from tests.factories import DeviceApplicationFactory
from tests.helpers.device import start


@pytest.mark.security("S18")
def test_alphabet_is_twenty_consonants_without_vowels_or_digits():
    assert len(USER_CODE_ALPHABET) == len(set(USER_CODE_ALPHABET)) == 20
    assert not set(USER_CODE_ALPHABET) & set("AEIOUY0123456789")


def test_generated_codes_are_eight_alphabet_letters():
    for _ in range(200):
        code = generate_user_code()
        assert len(code) == 8 and set(code) <= set(USER_CODE_ALPHABET)


@pytest.mark.security("S18")
def test_generated_codes_use_the_secrets_module(monkeypatch):
    picks = []
    monkeypatch.setattr(device.secrets, "choice", lambda seq: picks.append(seq) or seq[0])
    assert generate_user_code() == "BBBBBBBB"
    assert len(picks) == 8


def test_generated_codes_differ():
    assert len({generate_user_code() for _ in range(500)}) == 500


def test_codes_are_shown_with_a_dash_between_the_halves():
    assert format_user_code("BCDFGHJK") == "BCDF-GHJK"


@pytest.mark.security("S18")
@pytest.mark.parametrize(
    "entered", ["BCDF-GHJK", "bcdf-ghjk", "bcdfghjk", " BCDF GHJK ", "bc-df-gh-jk", "BCDF\u2013GHJK"]
)
def test_entry_ignores_case_dashes_and_spaces(entered):
    assert normalise_user_code(entered) == "BCDFGHJK"


@pytest.mark.parametrize(
    "entered",
    ["", "BCDF-GHJ", "BCDF-GHJKL", "BCDF-GHJA", "BCDF-GHJ1", "BCDF_GHJK", "x" * 5000,
     "\uff22\uff23\uff24\uff26\uff27\uff28\uff2a\uff2b"],  # full-width letters
)
def test_garbled_entries_are_not_codes(entered):
    assert normalise_user_code(entered) is None


@pytest.mark.django_db
def test_a_colliding_user_code_is_replaced_by_a_fresh_one(monkeypatch):
    app = DeviceApplicationFactory()
    taken = DeviceCode.objects.get(user_code=issue_device_code(app, ["read"]).user_code)
    codes = iter([taken.user_code, "ZZZZZZZZ"])
    monkeypatch.setattr(device, "generate_user_code", lambda: next(codes))
    assert issue_device_code(app, ["read"]).user_code == "ZZZZZZZZ"
    assert DeviceCode.objects.count() == 2


@pytest.mark.django_db
def test_endless_collisions_end_in_a_server_error(monkeypatch):
    app = DeviceApplicationFactory()
    taken = issue_device_code(app, ["read"]).user_code
    monkeypatch.setattr(device, "generate_user_code", lambda: taken)
    with pytest.raises(ServerError):
        issue_device_code(app, ["read"])
    assert DeviceCode.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.security("S18")
def test_issued_user_codes_have_the_xxxx_xxxx_form_and_enough_entropy(client, device_app):
    codes = {start(client, device_app)["user_code"] for _ in range(20)}
    assert len(codes) == 20
    for code in codes:
        assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", code)
    # 20 letters, 8 places: over 34 bits, far beyond what a rate-limited guesser tries in 10 minutes.
    assert 8 * math.log2(20) > 34


@pytest.mark.django_db
@pytest.mark.security("S18")
def test_an_issued_code_is_found_whatever_its_case_dashes_and_spaces(client, device_app):
    code = start(client, device_app)["user_code"]
    variants = [code.lower(), code.replace("-", ""), f" {code[:4]} {code[5:]} ".lower()]
    assert {normalise_user_code(v) for v in variants} == {code.replace("-", "")}
