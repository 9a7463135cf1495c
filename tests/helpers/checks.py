"""Helpers for the system-check tests: a sound base configuration and a runner that returns check ids."""

from __future__ import annotations

from django.test import override_settings

from oauth_provider.checks import check_settings

BASE = {"ISSUER": "https://auth.example.test", "KEY_ENCRYPTION_KEYS": ["k"]}


def ids(messages) -> list[str]:
    return sorted(m.id for m in messages)


def run(settings_dict: dict, check=check_settings) -> list[str]:
    """The ids of what ``check`` reports with ``OAUTH_PROVIDER = settings_dict``."""
    with override_settings(OAUTH_PROVIDER=settings_dict):
        return ids(check())
