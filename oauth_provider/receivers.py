"""Every signal receiver of oauth_provider, connected once by ``OAuthProviderConfig.ready()``.

Each section is one topic and connects its receivers with a ``dispatch_uid``, so connecting twice is
harmless. A receiver does only what its callers do not already do themselves.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import FieldDoesNotExist
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from oauth_provider import keys
from oauth_provider.clients import lifecycle
from oauth_provider.clients.keys import clear_client_key_sets
from oauth_provider.conf import RELOADING_SETTINGS, oauth_settings
from oauth_provider.models import Application, SigningKey
from oauth_provider.oidc.sessions import record_login
from oauth_provider.resource.validator import clear_verified_tokens, reset_validator
from oauth_provider.tokens import revocation

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


def connect_clients() -> None:
    pre_save.connect(_client_saving, sender=Application, dispatch_uid="oauth_provider.receivers.client_saving")
    pre_delete.connect(_client_deleting, sender=Application, dispatch_uid="oauth_provider.receivers.client_deleting")


# --- keys ------------------------------------------------------------------------------------------
# The one key cache (oauth_provider.keys) holds the SigningKey table for issuing, the JWKS and
# verification on both sides. A key saved or deleted in this process is seen at once by all of them;
# other processes see it when their snapshot is stale or a token names an unknown kid. Queryset
# update() sends no signal: keys.rotation clears the cache itself after its updates commit.


def signing_key_changed(*args: Any, **kwargs: Any) -> None:
    keys.clear_cache()


def signing_key_deleting(sender, instance: SigningKey, **kwargs) -> None:
    # The live tokens it signed are revoked: every process refuses them within the revocation bound,
    # not only once its key snapshot is reloaded (docs/SECURITY.md S26).
    revocation.revoke_key_tokens(instance.kid)


def settings_changed(*, setting: str, **kwargs: Any) -> None:
    # KEY_ENCRYPTION_KEYS / SECRET_KEY decrypt the keys; RESOURCE_* and ISSUER shape the validator.
    if setting in RELOADING_SETTINGS:
        keys.clear_cache()
        reset_validator()
        clear_client_key_sets()  # CLIENT_JWKS_* shape the client key sets


def connect_keys() -> None:
    # Tokens the resource side verified with the cached keys are forgotten with them (key saved,
    # deleted, rotated by keys.rotation, settings changed, or a test's clear_cache()).
    keys.key_cache.on_clear(clear_verified_tokens)
    post_save.connect(signing_key_changed, sender=SigningKey, dispatch_uid="oauth_provider.receivers.key_saved")
    post_delete.connect(signing_key_changed, sender=SigningKey, dispatch_uid="oauth_provider.receivers.key_deleted")
    pre_delete.connect(signing_key_deleting, sender=SigningKey, dispatch_uid="oauth_provider.receivers.key_deleting")
    setting_changed.connect(settings_changed, dispatch_uid="oauth_provider.receivers.keys_settings")


# --- OpenID Connect ----------------------------------------------------------------------------------
# auth_time (Core §2): every login path (the admin, the project's login view, allauth, force_login)
# sends user_logged_in, so the time of login is recorded in the session whichever view logged the user in.


# A client that registers an ID Token algorithm other than the server's gets its signing key at once,
# so the key is in the JWKS before the first ID Token (relying parties cache the JWKS).


def _client_saved(sender, instance: Application, **kwargs) -> None:
    algorithm = instance.id_token_signed_response_alg
    if instance.is_active and algorithm and algorithm != oauth_settings.SIGNING_ALGORITHM:
        keys.get_signing_key(algorithm)


def connect_openid() -> None:
    user_logged_in.connect(record_login, dispatch_uid="oauth_provider.receivers.record_login")
    post_save.connect(_client_saved, sender=Application, dispatch_uid="oauth_provider.receivers.client_saved")


# --- revocation -------------------------------------------------------------------------------------
# Paths that end tokens without coming through tokens.revocation (docs/SECURITY.md S26):
# - deleting a user revokes the user's live tokens first, so the cascade that deletes their rows never
#   makes their JWTs valid again (the admin's AccessToken page revokes before deleting, admin/console.py);
# - a save that turns a user inactive revokes that user's tokens and records one ``user_deactivated``
#   event, claimed in the database like a client's deactivation (a second save does nothing).
#   ``QuerySet.update(is_active=False)`` sends no signal: code that deactivates users in bulk calls
#   ``revocation.user_deactivated`` for each one. No receiver is connected to AccessToken itself: that
#   would cost ``oauth_cleanup`` its fast batched deletes; code that deletes live token rows in bulk
#   revokes them first (``revocation.revoke_access_tokens``).


def _has_is_active_field(model) -> bool:
    try:
        return model._meta.get_field("is_active").concrete
    except FieldDoesNotExist:
        return False


def _user_saving(sender, instance, update_fields=None, raw: bool = False, **kwargs) -> None:
    if raw or instance.pk is None or getattr(instance, "is_active", True):
        return
    if update_fields is not None and "is_active" not in update_fields:
        return  # this save does not write is_active
    if _has_is_active_field(sender):
        revocation.user_deactivated(instance, source="model")


def _user_deleting(sender, instance, **kwargs) -> None:
    revocation.revoke_user_tokens(instance)


def connect_revocation() -> None:
    pre_save.connect(_user_saving, sender=settings.AUTH_USER_MODEL, dispatch_uid="oauth_provider.receivers.user_saving")
    pre_delete.connect(_user_deleting, sender=settings.AUTH_USER_MODEL,
                       dispatch_uid="oauth_provider.receivers.user_deleting")


def connect() -> None:
    """Connect every section's receivers (idempotent: each has a dispatch_uid)."""
    connect_clients()
    connect_keys()
    connect_openid()
    connect_revocation()
