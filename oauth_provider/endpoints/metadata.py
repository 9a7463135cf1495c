"""The server metadata document (RFC 8414 §2): what this server implements, and nothing more.

The same document answers at ``/.well-known/oauth-authorization-server`` (RFC 8414 §3) and at
``/.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §4): the OpenID Connect members
are registered OAuth metadata too (RFC 8414 §7.1.2), so one document keeps both consistent.
"""

from __future__ import annotations

from typing import Any

from oauth_provider.clients.authentication import CONFIDENTIAL_METHODS, NONE
from oauth_provider.conf import oauth_settings
from oauth_provider.endpoints.authorize import implicit_enabled
from oauth_provider.endpoints.register import INITIAL_ACCESS_TOKEN, OPEN
from oauth_provider.http import endpoint_url
from oauth_provider.jwk_sets import allowed_assertion_algorithms
from oauth_provider.models import ClientType, GrantType, SubjectType
from oauth_provider.models.clients import ID_TOKEN_ALGORITHMS
from oauth_provider.oidc.claims import standard_claims
from oauth_provider.scopes import known_scopes

# Prompt values the authorization endpoint acts on (OpenID Connect Core §3.1.2.1).
PROMPT_VALUES = ("none", "login", "consent", "select_account")
# Claims of ID Tokens beyond the user's (Core §2), for claims_supported.
ID_TOKEN_CLAIMS = ("iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash")


def server_metadata() -> dict[str, Any]:
    grants = oauth_settings.GRANT_TYPES
    auth_methods = list(CONFIDENTIAL_METHODS)
    if any(ClientType.PUBLIC in handler.client_types for handler in grants.values()):
        auth_methods.append(NONE)
    authorization_endpoint = endpoint_url("authorize")
    response_types: list[str] = []
    grant_types = list(grants)
    if authorization_endpoint is not None:
        if GrantType.AUTHORIZATION_CODE in grants:
            response_types.append("code")
        if implicit_enabled():
            response_types.append("token")
            grant_types.append(GrantType.IMPLICIT)
    document: dict[str, Any] = {
        "issuer": oauth_settings.ISSUER,
        "authorization_endpoint": authorization_endpoint if response_types else None,
        "token_endpoint": endpoint_url("token"),
        "jwks_uri": endpoint_url("jwks"),
        "scopes_supported": list(known_scopes()),
        # REQUIRED by RFC 8414 even with no authorization endpoint.
        "response_types_supported": response_types,
        "grant_types_supported": grant_types,
        "token_endpoint_auth_methods_supported": auth_methods,
        # RFC 8414 §2: the JWS algorithms of private_key_jwt assertions (never none or HMAC).
        "token_endpoint_auth_signing_alg_values_supported": allowed_assertion_algorithms(),
    }
    revocation_endpoint = endpoint_url("revoke")
    if revocation_endpoint is not None:
        document["revocation_endpoint"] = revocation_endpoint  # RFC 8414 §2, RFC 7009
        document["revocation_endpoint_auth_methods_supported"] = auth_methods
        document["revocation_endpoint_auth_signing_alg_values_supported"] = allowed_assertion_algorithms()
    introspection_endpoint = endpoint_url("introspect")
    if introspection_endpoint is not None:
        document["introspection_endpoint"] = introspection_endpoint  # RFC 7662: confidential clients only
        document["introspection_endpoint_auth_methods_supported"] = list(CONFIDENTIAL_METHODS)
        document["introspection_endpoint_auth_signing_alg_values_supported"] = allowed_assertion_algorithms()
    if oauth_settings.REGISTRATION_MODE in (INITIAL_ACCESS_TOKEN, OPEN):
        document["registration_endpoint"] = endpoint_url("register")  # RFC 7591 §3, RFC 8414 §2
    if "code" in response_types:
        # plain is a per-client legacy opt-in and is not advertised (RFC 9700 §2.1.1).
        document["code_challenge_methods_supported"] = ["S256"]
    if response_types:
        document["authorization_response_iss_parameter_supported"] = True  # RFC 9207 §3
    if document["token_endpoint"] is not None:
        # RFC 9449 §5.1: the token endpoint (and the APIs) accept DPoP proofs signed with these.
        document["dpop_signing_alg_values_supported"] = list(oauth_settings.DPOP_SIGNING_ALGORITHMS)
    par_endpoint = endpoint_url("pushed_authorization_request")
    if "code" in response_types and par_endpoint is not None:
        document["pushed_authorization_request_endpoint"] = par_endpoint  # RFC 9126 §5
        document["require_pushed_authorization_requests"] = bool(oauth_settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS)
    if GrantType.DEVICE_CODE in grants:
        document["device_authorization_endpoint"] = endpoint_url("device_authorization")  # RFC 8628 §4
    if "code" in response_types:
        document.update(openid_members(fragment="token" in response_types))
    return {name: value for name, value in document.items() if value is not None}


def openid_members(*, fragment: bool = False) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 §3 members (with RP-Initiated Logout 1.0 §2.1)."""
    return {
        "userinfo_endpoint": endpoint_url("userinfo"),
        "end_session_endpoint": endpoint_url("end_session"),
        "subject_types_supported": [SubjectType.PUBLIC.value, SubjectType.PAIRWISE.value],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGORITHMS),
        "response_modes_supported": ["query", "fragment"] if fragment else ["query"],
        "claims_supported": standard_claims() + [c for c in ID_TOKEN_CLAIMS if c != "sub"],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        "prompt_values_supported": list(PROMPT_VALUES),
        # Core §6: request objects are refused (request_not_supported). request_uri is accepted only
        # as a reference our own PAR endpoint handed out (RFC 9126 §4); any other is invalid_request_uri.
        "request_parameter_supported": False,
        "request_uri_parameter_supported": endpoint_url("pushed_authorization_request") is not None,
    }


def openid_configuration() -> dict[str, Any]:
    """The OpenID Provider configuration (Discovery §4.2): the RFC 8414 document itself."""
    return server_metadata()
