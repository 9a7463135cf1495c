"""The server metadata document (RFC 8414 §2): what this server implements, and nothing more."""

from __future__ import annotations

from typing import Any

from oauth_provider.clients.authentication import CONFIDENTIAL_METHODS, NONE
from oauth_provider.conf import oauth_settings
from oauth_provider.endpoints.authorize import implicit_enabled
from oauth_provider.endpoints.register import INITIAL_ACCESS_TOKEN, OPEN
from oauth_provider.http import endpoint_url
from oauth_provider.jwk_sets import allowed_assertion_algorithms
from oauth_provider.models import ClientType, GrantType


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
        "scopes_supported": list(oauth_settings.SCOPES),
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
    par_endpoint = endpoint_url("pushed_authorization_request")
    if "code" in response_types and par_endpoint is not None:
        document["pushed_authorization_request_endpoint"] = par_endpoint  # RFC 9126 §5
        document["require_pushed_authorization_requests"] = bool(oauth_settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS)
    if GrantType.DEVICE_CODE in grants:
        document["device_authorization_endpoint"] = endpoint_url("device_authorization")  # RFC 8628 §4
    return {name: value for name, value in document.items() if value is not None}
