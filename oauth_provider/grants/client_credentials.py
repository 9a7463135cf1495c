"""The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from oauth_provider.grants.base import Grant
from oauth_provider.models import ClientType, GrantType


class ClientCredentialsGrant(Grant):
    grant_type = GrantType.CLIENT_CREDENTIALS
    # RFC 6749 §4.4: "MUST only be used by confidential clients".
    client_types = (ClientType.CONFIDENTIAL,)

    def issue(self) -> dict[str, Any]:
        scope = self.requested_scope()
        target = self.target(scope, None)  # RFC 8707: any registered resource; checked before the transaction
        # No savepoint: nothing here needs a partial rollback, and it saves two queries when nested.
        # RFC 6749 §4.4.3: no refresh token for this grant.
        with transaction.atomic(savepoint=False):
            return self.issue_tokens(scope=scope, target=target)
