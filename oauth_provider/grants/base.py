"""What every grant shares: the parsed token request, client checks and scope resolution."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from oauth_provider import audit, http, scopes
from oauth_provider.clients.resources import Target, token_target
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidRequest, UnauthorizedClient
from oauth_provider.models import Application, AuthorizationCode, ClientType, GrantType, RefreshToken
from oauth_provider.tokens.issue import issue_access_token, issue_refresh_token, token_response_body


@dataclass
class TokenRequest:
    """A token request after parsing: single-valued parameters and the authenticated client."""

    params: Mapping[str, str]
    client: Application
    context: http.RequestContext = field(default_factory=http.RequestContext)
    # RFC 8707: the registered resources this token request names (``clients.resources``).
    resources: list[str] = field(default_factory=list)

    def require(self, name: str) -> str:
        value = self.params.get(name)
        if not value:
            raise InvalidRequest(f"The {name} parameter is required.")
        return value


class Grant(ABC):
    """A grant type handler. Subclasses set ``grant_type`` and implement ``issue``.

    Register a subclass in ``OAUTH_PROVIDER['GRANT_TYPES']`` under its grant_type to enable it.
    """

    grant_type: ClassVar[str]
    # Client types allowed to use the grant at all (before the per-client grant list).
    client_types: ClassVar[tuple[str, ...]] = (ClientType.CONFIDENTIAL, ClientType.PUBLIC)

    def __init__(self, request: TokenRequest) -> None:
        self.request = request
        self.client = request.client

    def check_client(self) -> None:
        """The client may use this grant (RFC 6749 §5.2 ``unauthorized_client``)."""
        if self.client.client_type not in self.client_types:
            raise UnauthorizedClient(f"A {self.client.client_type} client cannot use the {self.grant_type} grant.")
        if not self.client.allows_grant(self.grant_type):
            raise UnauthorizedClient(f"This client is not allowed the {self.grant_type} grant.")

    @abstractmethod
    def issue(self) -> dict[str, Any]:
        """Validate the request and return the token response body."""

    def may_refresh(self) -> bool:
        """A refresh token goes to clients allowed the refresh_token grant, when the server serves it."""
        served = GrantType.REFRESH_TOKEN in oauth_settings.GRANT_TYPES
        return served and self.client.allows_grant(GrantType.REFRESH_TOKEN)

    def issue_tokens(
        self,
        *,
        scope: list[str],
        user: Any = None,
        with_refresh: bool = False,
        parent: RefreshToken | None = None,
        authorization_code: AuthorizationCode | None = None,
        event: str = audit.TOKEN_ISSUED,
        granted_resources: list[str] | None = None,
        target: Target | None = None,
        **details: Any,
    ) -> dict[str, Any]:
        """Issue an access token (and a refresh token when asked), audit it, return the response body.

        Call it inside the grant's transaction, so a failure leaves no half-issued tokens.
        ``parent`` makes the refresh token the rotation of that one (same family and scope).
        ``granted_resources``: the resources of the grant redeemed (RFC 8707), None for grants without
        one; the access token is for one of them (``clients.resources.token_target``), the refresh
        token keeps them all. Grants that spend something first pass ``target`` (``self.target``),
        computed before their transaction, so that an ``invalid_target`` spends nothing.
        """
        target = target or self.target(scope, granted_resources)
        refresh = None
        if with_refresh:
            refresh = issue_refresh_token(
                application=self.client, user=user, scope=scope, parent=parent,
                authorization_code=authorization_code, resources=granted_resources,
            )
        access = issue_access_token(
            application=self.client,
            scope=target.scope,
            audience=target.audience,
            grant_type=self.grant_type,
            user=user,
            refresh_token=refresh.record if refresh else None,
            authorization_code=authorization_code,
        )
        audit.record(
            event,
            context=self.request.context,
            application=self.client,
            user=user,
            grant_type=self.grant_type,
            jti=access.record.jti,
            scope=access.record.scope,
            **details,
        )
        return token_response_body(access, refresh_token=refresh.token if refresh else None, scope=target.scope)

    def target(self, scope: list[str], granted_resources: list[str] | None) -> Target:
        """The audience and scope of the access token (RFC 8707), or InvalidTarget."""
        return token_target(self.request.resources, granted_resources, scope)

    def requested_scope(self) -> list[str]:
        """The scope to grant a client acting for itself (``scopes.requested_scope``)."""
        return scopes.requested_scope(self.client, self.request.params.get("scope"))

