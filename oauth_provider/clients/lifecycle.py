"""The end of a client's life: deactivation and deletion, each one revoke and ONE audit event.

``deactivate_client`` and ``delete_client`` revoke every live access and refresh token of the
client through ``tokens.revocation`` (so resource servers' revocation cache learns the jtis at
once, docs/SECURITY.md S4) and record one audit event (``client_deactivated`` / ``client_deleted``)
whose details carry the numbers really revoked. Every path goes through them: the admin change
form (unticking "active"), the admin's *Deactivate* action, the admin's delete page and bulk
delete, RFC 7592 client deletion, and the model-level safety net below.

Safety net and "nothing is done twice". ``receivers.py`` connects two model signals that call these
same functions with ``source="model"``, for saves and deletes that do not come through here
(``client.save()`` or ``client.delete()`` from a shell, a script, a third-party admin). The work is
claimed in exactly one place, so no receiver repeats what a caller did:

- Deactivation is claimed in the database. ``deactivate_client`` turns ``is_active`` off with a
  conditional UPDATE (``WHERE is_active``); only the caller whose UPDATE changed the row revokes and
  audits. Everyone else finds the row already inactive and does nothing (returns None): a second
  admin, a concurrent request, and the pre_save receiver of a save that follows a lifecycle call (the
  admin form calls ``deactivate_client`` *before* saving the form, so the save finds nothing to do).
  The pre_save receiver of a save that turns an active client inactive makes the claim itself, so
  such a save revokes and audits exactly once; saving a client that was already inactive does nothing.
- Deletion is claimed on the instance. ``delete_client`` revokes and audits, then deletes the instance
  it marked; the pre_delete receiver skips marked instances and handles every other deletion (the
  mark is removed when ``delete()`` returns or fails, so a failed deletion leaves no stale mark).
  Concurrent ``delete_client`` calls are serialised on the client's row: the later one finds the row
  gone and does nothing.

``QuerySet.update(is_active=False)`` and raw SQL send no signal, so no receiver can catch them: code
that deactivates clients in bulk calls ``deactivate_client`` for each one. (``QuerySet.delete()`` does
send pre_delete for every row, so it is caught, one ``client_deleted`` event per client.)

Events and details are the ones each path recorded before this module, so the audit trail reads the
same: ``client_deactivated`` and ``tokens_revoked_by_admin`` (what the admin's deletions have always
recorded; Django's admin log records the deletion itself) carry ``access_tokens_revoked`` /
``refresh_tokens_revoked``, ``client_deleted`` carries ``revoked_access_tokens`` /
``revoked_refresh_tokens``; all carry ``source`` ("admin", "registration" or "model").
"""

from __future__ import annotations

from typing import Any, NamedTuple

from django.db import transaction

from oauth_provider import audit, http
from oauth_provider.models import Application
from oauth_provider.tokens.revocation import revoke_client_tokens

# The detail names of the two counts, per event.
_COUNT_DETAILS = {
    audit.CLIENT_DEACTIVATED: ("access_tokens_revoked", "refresh_tokens_revoked"),
    audit.TOKENS_REVOKED_BY_ADMIN: ("access_tokens_revoked", "refresh_tokens_revoked"),
    audit.CLIENT_DELETED: ("revoked_access_tokens", "revoked_refresh_tokens"),
}
# Set on an instance while ``delete_client`` deletes it: the pre_delete receiver then has nothing to do.
_DELETION_RECORDED = "_oauth_provider_deletion_recorded"


class Revoked(NamedTuple):
    """How many live tokens a deactivation or deletion revoked."""

    access_tokens: int
    refresh_tokens: int


def deactivate_client(
    client: Application,
    *,
    source: str,
    user: Any = None,
    context: http.RequestContext = http.NO_CONTEXT,
) -> Revoked | None:
    """Deactivate ``client``, revoke all its tokens and record one ``client_deactivated`` event.

    Returns the tokens revoked, or None when the client was already inactive in the database
    (someone else deactivated it and did the rest; nothing is revoked or audited again).
    ``client.is_active`` is False afterwards either way; other unsaved changes are not written.
    """
    with transaction.atomic():
        claimed = Application.objects.filter(pk=client.pk, is_active=True).update(is_active=False)
        client.is_active = False
        if not claimed:
            return None
        return _revoke_and_record(client, audit.CLIENT_DEACTIVATED, source=source, user=user, context=context)


def delete_client(
    client: Application,
    *,
    source: str,
    user: Any = None,
    context: http.RequestContext = http.NO_CONTEXT,
    event: str = audit.CLIENT_DELETED,
) -> Revoked | None:
    """Revoke all tokens of ``client``, record one ``event`` (``client_deleted``), then delete it.

    Revoking first matters: the cascade deletes the token rows, but resource servers still hold the
    JWTs. The event keeps the client_id (its ``application`` becomes NULL). Returns the tokens
    revoked, or None when the client no longer exists (a concurrent deletion did everything).
    """
    with transaction.atomic():
        # Lock the row: of concurrent deletions the later ones wait here, then find nothing.
        if not list(Application.objects.select_for_update().filter(pk=client.pk).values_list("pk", flat=True)):
            return None
        revoked = _revoke_and_record(client, event, source=source, user=user, context=context)
        setattr(client, _DELETION_RECORDED, True)
        try:
            client.delete()
        finally:
            client.__dict__.pop(_DELETION_RECORDED, None)
    return revoked


def record_deletion(client: Application, *, source: str) -> Revoked:
    """What precedes a deletion that bypasses ``delete_client`` (the pre_delete receiver): revoke, audit."""
    return _revoke_and_record(client, audit.CLIENT_DELETED, source=source, user=None, context=http.NO_CONTEXT)


def deletion_recorded(client: Application) -> bool:
    """Whether ``delete_client`` is deleting this instance (and so already revoked and audited)."""
    return bool(getattr(client, _DELETION_RECORDED, False))


def _revoke_and_record(client: Application, event: str, *, source: str, user: Any,
                       context: http.RequestContext) -> Revoked:
    # Always inside a transaction: the callers' above, or the deletion's (Django sends pre_delete in it).
    access_name, refresh_name = _COUNT_DETAILS[event]
    revoked = Revoked(*revoke_client_tokens(client))
    audit.record(event, context=context, application=client, user=user, source=source,
                 **{access_name: revoked.access_tokens, refresh_name: revoked.refresh_tokens})
    return revoked
