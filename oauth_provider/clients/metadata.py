"""Client metadata of dynamic registration (RFC 7591 §2): validate it, apply it, render it.

Shared by registration (RFC 7591) and the client configuration endpoint (RFC 7592). Unknown
members are ignored (§2: "MUST ignore any client metadata ... that it does not understand").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from oauth_provider.clients.assertion import PRIVATE_KEY_JWT
from oauth_provider.clients.authentication import CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, NONE
from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidClientMetadata, InvalidRedirectUri
from oauth_provider.jwk_sets import allowed_assertion_algorithms, jwks_problems, jwks_uri_problem
from oauth_provider.models import Application, ClientType, GrantType, SubjectType, TokenEndpointAuthMethod
from oauth_provider.models.clients import ID_TOKEN_ALGORITHMS
from oauth_provider.oidc.sectors import SectorIdentifierError, verify_sector_identifier
from oauth_provider.redirect_uris import validate_redirect_uri
from oauth_provider.scopes import parse_scope, scope_string

TOKEN_ENDPOINT_AUTH_METHODS = (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, PRIVATE_KEY_JWT, NONE)
# client_secret_jwt needs the secret itself as HMAC key; this server keeps only its digest.
CLIENT_SECRET_JWT = "client_secret_jwt"
# Grants that registration never grants: legacy opt-ins an administrator must set by hand.
UNREGISTRABLE_GRANTS = {GrantType.PASSWORD, GrantType.IMPLICIT}
# response_type -> the grant it belongs to (RFC 7591 §2.1); only "code" can be registered.
RESPONSE_TYPE_GRANTS = {"code": GrantType.AUTHORIZATION_CODE}
URI_MEMBERS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
STRING_MEMBERS = ("software_id", "software_version")
MAX_REDIRECT_URIS = 20
MAX_CONTACTS = 10
DEFAULT_CLIENT_NAME = "Dynamically registered client"
_https_url = URLValidator(schemes=["https"])
_email = EmailValidator()


@dataclass
class ClientMetadata:
    """Validated RFC 7591 metadata, ready to apply to an Application."""

    client_name: str
    redirect_uris: list[str]
    grant_types: list[str]
    response_types: list[str]
    token_endpoint_auth_method: str
    scope: list[str]
    extra: dict[str, Any] = field(default_factory=dict)
    # RFC 9449 §5.2: the client always uses DPoP at the token endpoint.
    dpop_bound_access_tokens: bool = False
    # OpenID Connect Dynamic Registration 1.0 §2 and RP-Initiated Logout 1.0 §3.1: model fields.
    oidc: dict[str, Any] = field(default_factory=dict)
    jwks: dict[str, Any] | None = None
    jwks_uri: str = ""
    token_endpoint_auth_signing_alg: str = ""
    require_pushed_authorization_requests: bool = False

    @property
    def client_type(self) -> str:
        return ClientType.PUBLIC if self.token_endpoint_auth_method == NONE else ClientType.CONFIDENTIAL


def registrable_grants() -> list[str]:
    return [g for g in oauth_settings.GRANT_TYPES if g not in UNREGISTRABLE_GRANTS and g in GrantType.values]


def registrable_scopes() -> list[str]:
    """Scopes a registered client may ask for: REGISTRATION_SCOPES, or only DEFAULT_SCOPES when it is None,
    so open registration never hands out every scope unless the server says so."""
    configured = oauth_settings.REGISTRATION_SCOPES
    if configured is None:
        return [s for s in oauth_settings.DEFAULT_SCOPES if s in oauth_settings.SCOPES]
    return list(configured)


def _string(body: dict, name: str, *, max_length: int = 255) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidClientMetadata(f"{name} must be a non-empty string of at most {max_length} characters.")
    return value


def _string_list(body: dict, name: str, *, max_items: int) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > max_items or not all(isinstance(v, str) and v for v in value):
        raise InvalidClientMetadata(f"{name} must be an array of at most {max_items} non-empty strings.")
    return list(dict.fromkeys(value))


def validate_client_metadata(body: Any) -> ClientMetadata:
    """Check a registration (or update) request body; InvalidRedirectUri / InvalidClientMetadata."""
    if not isinstance(body, dict):
        raise InvalidClientMetadata("The request body must be a JSON object of client metadata.")
    method = _string(body, "token_endpoint_auth_method") or CLIENT_SECRET_BASIC  # RFC 7591 §2 default
    if method == CLIENT_SECRET_JWT:
        raise InvalidClientMetadata(
            "client_secret_jwt is not supported: this server keeps only a digest of client secrets. "
            "Use private_key_jwt."
        )
    if method not in TOKEN_ENDPOINT_AUTH_METHODS:
        raise InvalidClientMetadata(
            f"token_endpoint_auth_method must be one of {', '.join(TOKEN_ENDPOINT_AUTH_METHODS)}."
        )
    grant_types = _string_list(body, "grant_types", max_items=10) or [GrantType.AUTHORIZATION_CODE]
    allowed_grants = registrable_grants()
    refused = [g for g in grant_types if g not in allowed_grants]
    if refused:
        raise InvalidClientMetadata(f"Grant types not available to registered clients: {', '.join(refused)}.")
    response_types = _string_list(body, "response_types", max_items=5)
    if response_types is None:
        response_types = ["code"] if GrantType.AUTHORIZATION_CODE in grant_types else []
    unknown = [r for r in response_types if r not in RESPONSE_TYPE_GRANTS]
    if unknown:
        raise InvalidClientMetadata(f"Response types not supported: {', '.join(unknown)}.")
    # RFC 7591 §2.1: grant_types and response_types must agree.
    if ("code" in response_types) != (GrantType.AUTHORIZATION_CODE in grant_types):
        raise InvalidClientMetadata("response_types 'code' goes with grant type 'authorization_code': both or neither.")
    if method == NONE and GrantType.CLIENT_CREDENTIALS in grant_types:
        raise InvalidClientMetadata("A public client (auth method 'none') cannot use client_credentials.")
    if grant_types == [GrantType.REFRESH_TOKEN]:
        raise InvalidClientMetadata("refresh_token alone grants nothing; add a grant that issues a first token.")
    redirect_uris = _redirect_uris(body, grant_types)
    jwks, jwks_uri, signing_alg = _keys(body, method)
    require_par = body.get("require_pushed_authorization_requests", False)
    if not isinstance(require_par, bool):
        raise InvalidClientMetadata("require_pushed_authorization_requests must be a boolean (RFC 9126 §6).")
    return ClientMetadata(
        client_name=_string(body, "client_name") or DEFAULT_CLIENT_NAME,
        redirect_uris=redirect_uris,
        grant_types=grant_types,
        response_types=response_types,
        token_endpoint_auth_method=method,
        scope=_scope(body),
        extra=_extra_members(body),
        dpop_bound_access_tokens=_dpop_bound(body),
        oidc=_openid_members(body, redirect_uris),
        jwks=jwks,
        jwks_uri=jwks_uri,
        token_endpoint_auth_signing_alg=signing_alg,
        require_pushed_authorization_requests=require_par,
    )


def _dpop_bound(body: dict) -> bool:
    """RFC 9449 §5.2: a JSON boolean, false when absent."""
    value = body.get("dpop_bound_access_tokens", False)
    if not isinstance(value, bool):
        raise InvalidClientMetadata("dpop_bound_access_tokens must be a boolean.")
    return value


def _keys(body: dict, method: str) -> tuple[dict[str, Any] | None, str, str]:
    """jwks / jwks_uri (RFC 7591 §2: not both) and token_endpoint_auth_signing_alg (OIDC Registration §2)."""
    jwks = body.get("jwks")
    jwks_uri = body.get("jwks_uri")
    if jwks is not None and jwks_uri is not None:
        raise InvalidClientMetadata("Send jwks or jwks_uri, not both (RFC 7591 §2).")
    if jwks is not None:
        problems = jwks_problems(jwks)
        if problems:
            raise InvalidClientMetadata(f"jwks: {' '.join(problems)}"[:500])
    if jwks_uri is not None:
        problem = jwks_uri_problem(jwks_uri)
        if problem:
            raise InvalidClientMetadata(problem)
    if method == PRIVATE_KEY_JWT and jwks is None and jwks_uri is None:
        raise InvalidClientMetadata("private_key_jwt needs the client's public keys: jwks or jwks_uri.")
    signing_alg = body.get("token_endpoint_auth_signing_alg")
    if signing_alg is not None:
        allowed = allowed_assertion_algorithms()
        if method != PRIVATE_KEY_JWT:
            raise InvalidClientMetadata("token_endpoint_auth_signing_alg goes with private_key_jwt.")
        if signing_alg not in allowed:
            raise InvalidClientMetadata(f"token_endpoint_auth_signing_alg must be one of {', '.join(allowed)}.")
    return jwks, jwks_uri or "", signing_alg or ""


def _redirect_uris(body: dict, grant_types: list[str]) -> list[str]:
    value = body.get("redirect_uris")
    if value is not None and (
        not isinstance(value, list) or len(value) > MAX_REDIRECT_URIS or not all(isinstance(v, str) for v in value)
    ):
        raise InvalidRedirectUri(f"redirect_uris must be an array of at most {MAX_REDIRECT_URIS} strings.")
    uris = list(dict.fromkeys(value or []))
    for uri in uris:
        try:
            validate_redirect_uri(uri)
        except ValidationError as exc:
            raise InvalidRedirectUri(f"{uri[:100]}: {' '.join(exc.messages)}") from exc
    if GrantType.AUTHORIZATION_CODE in grant_types and not uris:
        raise InvalidRedirectUri("The authorization_code grant needs at least one redirect URI.")
    return uris


def _scope(body: dict) -> list[str]:
    value = body.get("scope")
    allowed = registrable_scopes()
    if value is None:
        return [s for s in oauth_settings.DEFAULT_SCOPES if s in allowed]
    if not isinstance(value, str):
        raise InvalidClientMetadata("scope must be a space-separated string.")
    try:
        requested = parse_scope(value)
    except ValueError as exc:
        raise InvalidClientMetadata(f"Malformed scope: {exc}.") from exc
    outside = [s for s in requested if s not in allowed]
    if outside:
        raise InvalidClientMetadata(f"Scope not available to registered clients: {' '.join(outside)}.")
    return requested


def _openid_members(body: dict, redirect_uris: list[str]) -> dict[str, Any]:
    """OpenID Connect client metadata (Dynamic Registration §2), validated; defaults as §2 gives them."""
    alg = _string(body, "id_token_signed_response_alg") or "RS256"
    if alg not in ID_TOKEN_ALGORITHMS:
        # "none" included: this server always signs its ID Tokens.
        raise InvalidClientMetadata(f"id_token_signed_response_alg must be one of {', '.join(ID_TOKEN_ALGORITHMS)}.")
    subject_type = _string(body, "subject_type") or SubjectType.PUBLIC
    if subject_type not in SubjectType.values:
        raise InvalidClientMetadata(f"subject_type must be one of {', '.join(SubjectType.values)}.")
    sector_uri = _string(body, "sector_identifier_uri", max_length=2000) or ""
    if sector_uri:
        try:
            verify_sector_identifier(sector_uri, redirect_uris)
        except SectorIdentifierError as exc:
            raise InvalidClientMetadata(str(exc)) from None
    elif subject_type == SubjectType.PAIRWISE and len({urlsplit(u).hostname for u in redirect_uris}) > 1:
        raise InvalidClientMetadata(
            "A pairwise client whose redirect_uris have several hosts needs a sector_identifier_uri."
        )
    logout_uris = _string_list(body, "post_logout_redirect_uris", max_items=MAX_REDIRECT_URIS) or []
    for uri in logout_uris:
        try:
            validate_redirect_uri(uri)
        except ValidationError as exc:
            raise InvalidClientMetadata(f"post_logout_redirect_uris: {uri[:100]}: {' '.join(exc.messages)}") from exc
    require_auth_time = body.get("require_auth_time", False)
    if not isinstance(require_auth_time, bool):
        raise InvalidClientMetadata("require_auth_time must be true or false.")
    max_age = body.get("default_max_age")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0):
        raise InvalidClientMetadata("default_max_age must be a number of seconds (a non-negative integer).")
    return {
        "id_token_signed_response_alg": alg,
        "subject_type": subject_type,
        "sector_identifier_uri": sector_uri,
        "post_logout_redirect_uris": "\n".join(logout_uris),
        "require_auth_time": require_auth_time,
        "default_max_age": max_age,
    }


def _extra_members(body: dict) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for name in URI_MEMBERS:
        uri = _string(body, name, max_length=2000)
        if uri is not None:
            try:
                _https_url(uri)
            except ValidationError as exc:
                raise InvalidClientMetadata(f"{name} must be an absolute https URL.") from exc
            extra[name] = uri
    for name in STRING_MEMBERS:
        text = _string(body, name)
        if text is not None:
            extra[name] = text
    contacts = _string_list(body, "contacts", max_items=MAX_CONTACTS)
    if contacts is not None:
        for contact in contacts:
            try:
                _email(contact)
            except ValidationError as exc:
                raise InvalidClientMetadata("contacts must be e-mail addresses.") from exc
        extra["contacts"] = contacts
    return extra


def apply_client_metadata(application: Application, metadata: ClientMetadata) -> None:
    """Write validated metadata onto the model (not saved); the client type follows the auth method."""
    application.name = metadata.client_name
    application.client_type = metadata.client_type
    application.redirect_uris = "\n".join(metadata.redirect_uris)
    application.grant_types = metadata.grant_types
    application.allowed_scopes = scope_string(metadata.scope)
    application.default_scopes = scope_string(metadata.scope)
    application.dpop_bound_access_tokens = metadata.dpop_bound_access_tokens
    for name, value in metadata.oidc.items():
        setattr(application, name, value)
    application.token_endpoint_auth_method = (
        TokenEndpointAuthMethod.PRIVATE_KEY_JWT if metadata.token_endpoint_auth_method == PRIVATE_KEY_JWT
        else TokenEndpointAuthMethod.SECRET_OR_NONE
    )
    application.jwks = metadata.jwks
    application.jwks_uri = metadata.jwks_uri
    application.token_endpoint_auth_signing_alg = metadata.token_endpoint_auth_signing_alg
    application.require_pushed_authorization_requests = metadata.require_pushed_authorization_requests
    application.metadata = {
        **metadata.extra,
        "token_endpoint_auth_method": metadata.token_endpoint_auth_method,
        "response_types": metadata.response_types,
    }
    try:
        application.full_clean(exclude=["client_id", "owner"])
    except ValidationError as exc:
        # The model's own checks are a second line of defence; RFC 7591 §3.2.2 names the error.
        problems = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items())
        raise InvalidClientMetadata(problems) from exc


def client_metadata_body(application: Application) -> dict[str, Any]:
    """The registered metadata of a client as RFC 7591 §3.2.1 returns it (optional members omitted)."""
    stored = application.metadata or {}
    body: dict[str, Any] = {
        "client_name": application.name,
        "grant_types": list(application.grant_types or []),
        "response_types": stored.get("response_types", []),
        "token_endpoint_auth_method": stored.get(
            "token_endpoint_auth_method", CLIENT_SECRET_BASIC if application.is_confidential else NONE
        ),
    }
    if application.dpop_bound_access_tokens:
        body["dpop_bound_access_tokens"] = True
    if application.uses_private_key_jwt:
        body["token_endpoint_auth_method"] = PRIVATE_KEY_JWT
    if application.jwks is not None:
        body["jwks"] = application.jwks
    if application.jwks_uri:
        body["jwks_uri"] = application.jwks_uri
    if application.token_endpoint_auth_signing_alg:
        body["token_endpoint_auth_signing_alg"] = application.token_endpoint_auth_signing_alg
    if application.require_pushed_authorization_requests:
        body["require_pushed_authorization_requests"] = True
    if application.redirect_uri_list:
        body["redirect_uris"] = application.redirect_uri_list
    if application.allowed_scopes:
        body["scope"] = application.allowed_scopes
    for name in (*URI_MEMBERS, *STRING_MEMBERS, "contacts"):
        if name in stored:
            body[name] = stored[name]
    body["id_token_signed_response_alg"] = application.id_token_signed_response_alg
    body["subject_type"] = application.subject_type
    if application.sector_identifier_uri:
        body["sector_identifier_uri"] = application.sector_identifier_uri
    if application.post_logout_redirect_uri_list:
        body["post_logout_redirect_uris"] = application.post_logout_redirect_uri_list
    body["require_auth_time"] = application.require_auth_time
    if application.default_max_age is not None:
        body["default_max_age"] = application.default_max_age
    return body
