"""What every grant shares: the parsed token request, client checks and scope resolution."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from oauth_provider import audit, http, scopes
from oauth_provider.clients.resources import Target, token_target
from oauth_provider.conf import oauth_settings
from oauth_provider.crypto import constant_time_equals
from oauth_provider.errors import InvalidGrant, InvalidRequest, UnauthorizedClient
from oauth_provider.jose import DPoPProof
from oauth_provider.models import Application, AuthorizationCode, ClientType, GrantType, RefreshToken
from oauth_provider.oidc.id_tokens import IdTokenContext, issue_id_token
from oauth_provider.tokens.issue import issue_access_token, issue_refresh_token, token_response_body


@dataclass
class TokenRequest:
    """A token request after parsing: single-valued parameters and the authenticated client."""

    params: Mapping[str, str]
    client: Application
    context: http.RequestContext = field(default_factory=http.RequestContext)
    # The verified DPoP proof of the request (RFC 9449 §5), None when it sent none.
    dpop: DPoPProof | None = None

    @property
    def dpop_jkt(self) -> str:
        """The thumbprint of the key the request proved, "" without a proof."""
        return self.dpop.jkt if self.dpop is not None else ""
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
        openid: IdTokenContext | None = None,
        event: str = audit.TOKEN_ISSUED,
        granted_resources: list[str] | None = None,
        target: Target | None = None,
        **details: Any,
    ) -> dict[str, Any]:
        """Issue an access token (and a refresh token when asked), audit it, return the response body.

        Call it inside the grant's transaction, so a failure leaves no half-issued tokens.
        ``parent`` makes the refresh token the rotation of that one (same family and scope).
        ``openid`` (a user grant whose scope has ``openid``) adds an ID Token (OpenID Connect Core
        §3.1.3.3, §12.2); the refresh token keeps its auth_time and claims request for later ID Tokens.
        ``granted_resources``: the resources of the grant redeemed (RFC 8707), None for grants without
        one; the access token is for one of them (``clients.resources.token_target``), the refresh
        token keeps them all. Grants that spend something first pass ``target`` (``self.target``),
        computed before their transaction, so that an ``invalid_target`` spends nothing.
        """
        target = target or self.target(scope, granted_resources)
        refresh = None
        jkt = self.request.dpop_jkt
        if with_refresh:
            # RFC 9449 §5: a public client's refresh token is bound to its DPoP key; a confidential
            # client's is bound by its client authentication, so it may move to a new key.
            refresh = issue_refresh_token(
                application=self.client, user=user, scope=scope, parent=parent,
                authorization_code=authorization_code, dpop_jkt="" if self.client.is_confidential else jkt,
                auth_time=authorization_code.auth_time if authorization_code is not None else None,
                claims=openid.claims_request if openid is not None else None,
                resources=granted_resources,
            )
        access = issue_access_token(
            application=self.client,
            scope=target.scope,
            audience=target.audience,
            grant_type=self.grant_type,
            user=user,
            refresh_token=refresh.record if refresh else None,
            authorization_code=authorization_code,
            dpop_jkt=jkt,
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
        body = token_response_body(access, refresh_token=refresh.token if refresh else None, scope=target.scope)
        if openid is not None and user is not None:
            body["id_token"] = issue_id_token(client=self.client, user=user, context=openid, access_token=access.token)
        return body

    def check_dpop_binding(self, bound_jkt: str, what: str) -> None:
        """A grant bound to a DPoP key (``bound_jkt``) is usable only with a proof of that key
        (RFC 9449 §5 refresh tokens, §10 ``dpop_jkt`` codes): ``invalid_grant`` otherwise."""
        if not bound_jkt:
            return
        if self.request.dpop is None:
            raise InvalidGrant(f"The {what} is bound to a DPoP key; send a DPoP proof signed with it.")
        if not constant_time_equals(bound_jkt, self.request.dpop.jkt):
            raise InvalidGrant(f"The {what} is bound to another DPoP key.")

    def target(self, scope: list[str], granted_resources: list[str] | None) -> Target:
        """The audience and scope of the access token (RFC 8707), or InvalidTarget."""
        return token_target(self.request.resources, granted_resources, scope)

    def requested_scope(self) -> list[str]:
        """The scope to grant a client acting for itself (``scopes.requested_scope``)."""
        return scopes.requested_scope(self.client, self.request.params.get("scope"))

