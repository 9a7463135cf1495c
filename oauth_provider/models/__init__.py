"""The tables of the authorization server. Import models from here."""

from .audit import ActivityDashboard, ActivityHour, ActivityRollupState, AuditEvent
from .clients import Application, ClientType, Consent, GrantType
from .codes import AuthorizationCode, DeviceCode, DeviceCodeStatus
from .keys import KeyState, SigningKey
from .registration import InitialAccessToken
from .tokens import AccessToken, RefreshToken

__all__ = [
    "AccessToken",
    "ActivityDashboard",
    "ActivityHour",
    "ActivityRollupState",
    "Application",
    "AuditEvent",
    "AuthorizationCode",
    "ClientType",
    "Consent",
    "DeviceCode",
    "DeviceCodeStatus",
    "GrantType",
    "InitialAccessToken",
    "KeyState",
    "RefreshToken",
    "SigningKey",
]
