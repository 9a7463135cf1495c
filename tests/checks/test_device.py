"""System checks for the device grant's settings."""

import pytest

from tests.helpers.checks import BASE, run


@pytest.mark.parametrize("name", ["DEVICE_CODE_LIFETIME", "DEVICE_CODE_INTERVAL", "DEVICE_USER_CODE_FAILURE_WINDOW"])
def test_non_positive_device_setting_is_E007(name):
    assert run({**BASE, name: 0}) == ["oauth_provider.E007"]
