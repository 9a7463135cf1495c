"""Model signal receivers of oauth_provider, connected by ``OAuthProviderConfig.ready()``.

Each section connects its own receivers with a ``dispatch_uid``, so connecting twice is harmless.
"""

from __future__ import annotations

from django.db.models.signals import pre_delete, pre_save

from oauth_provider.clients import lifecycle
from oauth_provider.models import Application

# --- clients ----------------------------------------------------------------------------------------
# The safety net of clients/lifecycle.py (its docstring explains why nothing is done twice): a save that
# turns a client inactive, or a deletion, that did not come through lifecycle still revokes every token
# of the client and records one audit event (source "model").


def _client_saving(sender, instance: Application, update_fields=None, **kwargs) -> None:
    if instance.is_active or instance.pk is None:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return  # this save does not write is_active: a stale in-memory value must not deactivate the row
    # Claims the deactivation only if the row is still active (a lifecycle caller already claimed it otherwise).
    lifecycle.deactivate_client(instance, source="model")


def _client_deleting(sender, instance: Application, **kwargs) -> None:
    if not lifecycle.deletion_recorded(instance):
        lifecycle.record_deletion(instance, source="model")


def connect_client_receivers() -> None:
    pre_save.connect(_client_saving, sender=Application, dispatch_uid="oauth_provider.receivers.client_saving")
    pre_delete.connect(_client_deleting, sender=Application, dispatch_uid="oauth_provider.receivers.client_deleting")


# --- end of clients ---------------------------------------------------------------------------------
