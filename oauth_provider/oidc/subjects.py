"""The ``sub`` a client sees (OpenID Connect Core §8): public, or pairwise per sector.

One function, ``subject_for_client``, gives the subject for every token and answer to a client:
ID Tokens, UserInfo, access tokens and introspection, so the client sees one ``sub`` everywhere.

Pairwise subjects (§8.1) are an HMAC-SHA256 of the sector identifier and the user's public
subject under ``PAIRWISE_SUBJECT_SECRET`` (or a key derived from ``SECRET_KEY``): stable within a
sector, unrelated across sectors, and not reversible by a client. The sector identifier is the
client's stored ``sector_identifier`` (the sector_identifier_uri's host, else its redirect URIs'
host), so computing it makes no query and no request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from django.conf import settings

from oauth_provider.conf import oauth_settings
from oauth_provider.models import Application, SubjectType


def subject_for(user: Any) -> str:
    """The public ``sub`` of a user, from the callable named by ``USER_SUBJECT`` (default: the pk)."""
    return str(oauth_settings.USER_SUBJECT(user))


def _pairwise_key() -> bytes:
    configured = oauth_settings.PAIRWISE_SUBJECT_SECRET
    secret = configured if configured else "oauth_provider.pairwise-subject:" + settings.SECRET_KEY
    return hashlib.sha256(secret.encode("utf-8")).digest()


def pairwise_subject(sector: str, public_subject: str) -> str:
    message = f"{len(sector)}:{sector}|{public_subject}".encode()
    mac = hmac.new(_pairwise_key(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def subject_for_client(user: Any, client: Application) -> str:
    """The ``sub`` of ``user`` as ``client`` sees it."""
    public = subject_for(user)
    if client.subject_type != SubjectType.PAIRWISE:
        return public
    # A pairwise client without redirect URIs (client credentials only) is a sector of its own.
    sector = client.sector_identifier or f"client:{client.client_id}"
    return pairwise_subject(sector, public)
