"""The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from .. import audit
from ..models import ClientType, GrantType
from ..tokens import issue_access_token, token_response_body
from .base import Grant


class ClientCredentialsGrant(Grant):
    grant_type = GrantType.CLIENT_CREDENTIALS
    # RFC 6749 §4.4: "MUST only be used by confidential clients".
    client_types = (ClientType.CONFIDENTIAL,)

    def issue(self) -> dict[str, Any]:
        scope = self.requested_scope()
        # No savepoint: nothing here needs a partial rollback, and it saves two queries when nested.
        with transaction.atomic(savepoint=False):
            access = issue_access_token(application=self.client, scope=scope, grant_type=self.grant_type)
            audit.record(
                audit.TOKEN_ISSUED,
                context=self.request.context,
                application=self.client,
                grant_type=self.grant_type,
                jti=access.record.jti,
                scope=access.record.scope,
            )
        # RFC 6749 §4.4.3: no refresh token for this grant.
        return token_response_body(access, scope=scope)
