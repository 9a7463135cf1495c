"""Signal receivers that keep this process's caches in step with the database and the settings.

Connected once, in ``OAuthProviderConfig.ready``. Each section is one topic; a receiver does only
what its callers do not already do themselves.
"""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save

from oauth_provider import keys
from oauth_provider.conf import RELOADING_SETTINGS
from oauth_provider.models import SigningKey
from oauth_provider.resource.validator import reset_validator

# --- keys ------------------------------------------------------------------------------------------
# The one key cache (oauth_provider.keys) holds the SigningKey table for issuing, the JWKS and
# verification on both sides. A key saved or deleted in this process is seen at once by all of them;
# other processes see it when their snapshot is stale or a token names an unknown kid. Queryset
# update() sends no signal: keys.rotation clears the cache itself after its updates commit.


def signing_key_changed(*args: Any, **kwargs: Any) -> None:
    keys.clear_cache()


def settings_changed(*, setting: str, **kwargs: Any) -> None:
    # KEY_ENCRYPTION_KEYS / SECRET_KEY decrypt the keys; RESOURCE_* and ISSUER shape the validator.
    if setting in RELOADING_SETTINGS:
        keys.clear_cache()
        reset_validator()


def connect_keys() -> None:
    post_save.connect(signing_key_changed, sender=SigningKey, dispatch_uid="oauth_provider.receivers.key_saved")
    post_delete.connect(signing_key_changed, sender=SigningKey, dispatch_uid="oauth_provider.receivers.key_deleted")
    setting_changed.connect(settings_changed, dispatch_uid="oauth_provider.receivers.keys_settings")


# --- end of keys -----------------------------------------------------------------------------------


def connect() -> None:
    """Connect every section's receivers (idempotent: each has a dispatch_uid)."""
    connect_keys()
