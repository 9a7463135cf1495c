"""The tables of the authorization server. Import models from here."""

from oauth_provider.models.audit import ActivityDashboard, ActivityHour, ActivityRollupState, AuditEvent
from oauth_provider.models.clients import (
    Application,
    ClientType,
    Consent,
    GrantType,
    SubjectType,
    TokenEndpointAuthMethod,
)
from oauth_provider.models.codes import AuthorizationCode, DeviceCode, DeviceCodeStatus
from oauth_provider.models.keys import KeyState, SigningKey
from oauth_provider.models.registration import InitialAccessToken
from oauth_provider.models.requests import ClientAssertionJti, PushedAuthorizationRequest
from oauth_provider.models.tokens import AccessToken, RefreshToken, RevokedAccessToken

__all__ = [
    "AccessToken",
    "ActivityDashboard",
    "ActivityHour",
    "ActivityRollupState",
    "Application",
    "AuditEvent",
    "AuthorizationCode",
    "ClientAssertionJti",
    "ClientType",
    "Consent",
    "DeviceCode",
    "DeviceCodeStatus",
    "GrantType",
    "InitialAccessToken",
    "KeyState",
    "PushedAuthorizationRequest",
    "RefreshToken",
    "RevokedAccessToken",
    "SigningKey",
    "SubjectType",
    "TokenEndpointAuthMethod",
]
