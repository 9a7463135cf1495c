"""The admin console's client add form, as the tests post it."""

from __future__ import annotations


def add_form(**overrides):
    data = {
        "name": "Billing service",
        "client_type": "confidential",
        "grant_types": ["client_credentials"],
        "redirect_uris": "",
        "allowed_scopes": "read",
        "default_scopes": "read",
        "require_pkce": "on",
        "allowed_origins": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data
