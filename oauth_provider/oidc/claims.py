"""Claims about the user (OpenID Connect Core §5): which scope discloses which claim, the pluggable
claims provider, the ``claims`` request parameter (§5.5) and the custom-claims hook.

The claims provider is a class named by ``OAUTH_PROVIDER['CLAIMS_PROVIDER']`` (an import string, as
DRF names its policies). It is instantiated per use and asked for the claims a response may carry::

    class MyClaims(UserClaimsProvider):
        def claims(self, user, names):
            values = super().claims(user, names)
            if "phone_number" in names and user.profile.phone:
                values["phone_number"] = user.profile.phone
            return values

The custom-claims hook, ``OAUTH_PROVIDER['CUSTOM_CLAIMS']``, is a callable
``(client, user, scope, target) -> dict`` whose claims are added to access tokens
(``target == "access_token"``) and ID Tokens (``target == "id_token"``). It may never set a
registered claim (``REGISTERED_CLAIMS``): the protocol owns those, and a hook that tries is a
configuration error (``CustomClaimsError``), never silently obeyed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from oauth_provider.conf import oauth_settings

ACCESS_TOKEN, ID_TOKEN, USERINFO = "access_token", "id_token", "userinfo"

# Core §5.4: the claims each OpenID Connect scope asks for.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name", "family_name", "given_name", "middle_name", "nickname", "preferred_username", "profile",
        "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}

# Claims that JWT (RFC 7519 §4.1), RFC 9068, RFC 8693, RFC 7800, RFC 9449 and OpenID Connect Core
# (§2, §3.1.3.6, §5.1) define for the protocol itself: a hook can never set or replace them.
REGISTERED_CLAIMS = frozenset(
    {
        "iss", "sub", "aud", "exp", "nbf", "iat", "jti",
        "client_id", "scope", "cnf", "act", "may_act", "azp",
        "auth_time", "nonce", "acr", "amr", "at_hash", "c_hash", "s_hash", "sid", "sub_jwk",
        "typ", "token_type", "roles", "groups", "entitlements",
    }
)

# Core §5.5: the two members of the claims request, and what each claim may ask.
CLAIMS_REQUEST_MEMBERS = (USERINFO, ID_TOKEN)
MAX_REQUESTED_CLAIMS = 50


class CustomClaimsError(ImproperlyConfigured):
    """The custom-claims hook returned something the server will not sign."""


def standard_claims() -> list[str]:
    """Every claim a scope can disclose, plus ``sub`` (for ``claims_supported``)."""
    names = ["sub"]
    for claims in SCOPE_CLAIMS.values():
        names.extend(c for c in claims if c not in names)
    return names


def scope_claims(scope: Iterable[str]) -> list[str]:
    """The claims the granted OpenID Connect scopes disclose (Core §5.4), in a stable order."""
    names: list[str] = []
    for name in scope:
        names.extend(c for c in SCOPE_CLAIMS.get(name, ()) if c not in names)
    return names


def describe_claims(scope: Iterable[str]) -> dict[str, list[str]]:
    """scope -> the claims it discloses, for the consent page."""
    return {name: list(SCOPE_CLAIMS[name]) for name in scope if name in SCOPE_CLAIMS}


class UserClaimsProvider:
    """The default claims provider: what Django's user model knows.

    ``name``, ``given_name``, ``family_name``, ``preferred_username``, ``email``,
    ``email_verified`` (the user's ``email_verified`` attribute if the model has one, else false:
    Django does not verify addresses) and ``updated_at`` (the user's ``updated_at`` attribute if
    the model has one). Empty values are left out (Core §5.3.2).
    """

    def claims(self, user: Any, names: Iterable[str]) -> dict[str, Any]:
        wanted = set(names)
        values: dict[str, Any] = {}
        if "name" in wanted:
            full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
            values["name"] = full_name.strip()
        if "given_name" in wanted:
            values["given_name"] = getattr(user, "first_name", "")
        if "family_name" in wanted:
            values["family_name"] = getattr(user, "last_name", "")
        if "preferred_username" in wanted:
            values["preferred_username"] = user.get_username()
        email = getattr(user, "email", "") or ""
        if "email" in wanted and email:
            values["email"] = email
            # Only meaningful with an address: a verification flag about nothing is left out.
        if "email_verified" in wanted and email:
            values["email_verified"] = bool(getattr(user, "email_verified", False))
        if "updated_at" in wanted:
            updated = getattr(user, "updated_at", None)
            if updated is not None:
                values["updated_at"] = int(updated.timestamp())
        return {name: value for name, value in values.items() if value not in ("", None)}


def claims_provider() -> Any:
    provider = oauth_settings.CLAIMS_PROVIDER
    return provider() if isinstance(provider, type) else provider


def _matches(value: Any, request: Mapping[str, Any] | None) -> bool:
    """Core §5.5.1: a claim asked with ``value`` or ``values`` is returned only with such a value."""
    if not request:
        return True
    if "value" in request:
        return value == request["value"]
    if "values" in request:
        return value in request["values"]
    return True


def user_claims(
    user: Any, *, scope: Iterable[str], claims_request: Mapping[str, Any] | None, target: str
) -> dict[str, Any]:
    """The user's claims for ``target`` (``userinfo`` or ``id_token``): the scope's claims (for
    UserInfo; Core §5.4 puts them in the ID Token only when no access token is issued) and the
    claims the ``claims`` parameter asked of that target. Never ``sub``: the caller sets it."""
    asked: Mapping[str, Any] = (claims_request or {}).get(target) or {}
    names = scope_claims(scope) if target == USERINFO else []
    names += [n for n in asked if n not in names and n not in REGISTERED_CLAIMS]
    if not names:
        return {}
    values = claims_provider().claims(user, names)
    return {
        name: value
        for name, value in values.items()
        if name in names and name not in REGISTERED_CLAIMS and _matches(value, asked.get(name))
    }


def custom_claims(client: Any, user: Any, scope: list[str], target: str) -> dict[str, Any]:
    """The custom-claims hook's claims for a token; a registered name is a CustomClaimsError."""
    hook = oauth_settings.CUSTOM_CLAIMS
    if hook is None:
        return {}
    extra = hook(client, user, list(scope), target)
    if extra is None:
        return {}
    if not isinstance(extra, Mapping) or not all(isinstance(name, str) for name in extra):
        raise CustomClaimsError("OAUTH_PROVIDER['CUSTOM_CLAIMS'] must return a dict of claim name -> value.")
    refused = sorted(name for name in extra if name in REGISTERED_CLAIMS)
    if refused:
        raise CustomClaimsError(
            "OAUTH_PROVIDER['CUSTOM_CLAIMS'] may not set registered claims, which the protocol owns: "
            + ", ".join(refused)
        )
    return dict(extra)


# --- the claims request parameter (Core §5.5) -----------------------------------------------------


def parse_claims_request(raw: str | None) -> dict[str, dict[str, Any]]:
    """Validate the ``claims`` parameter (a JSON object); ValueError says what is wrong.

    Keeps only the two members this server acts on, each a map of claim name -> null or
    ``{"essential": bool, "value": v}`` / ``{"values": [...]}``.
    """
    if not raw:
        return {}
    try:
        document = json.loads(raw)
    except ValueError:
        raise ValueError("the claims parameter is not valid JSON") from None
    if not isinstance(document, dict):
        raise ValueError("the claims parameter must be a JSON object")
    parsed: dict[str, dict[str, Any]] = {}
    count = 0
    for member in CLAIMS_REQUEST_MEMBERS:
        section = document.get(member)
        if section is None:
            continue
        if not isinstance(section, dict):
            raise ValueError(f"claims.{member} must be a JSON object")
        entries: dict[str, Any] = {}
        for name, request in section.items():
            count += 1
            if count > MAX_REQUESTED_CLAIMS:
                raise ValueError(f"the claims parameter asks for more than {MAX_REQUESTED_CLAIMS} claims")
            if request is not None and not isinstance(request, dict):
                raise ValueError(f"claims.{member}.{name} must be null or a JSON object")
            entry: dict[str, Any] = {}
            if request:
                if "essential" in request:
                    if not isinstance(request["essential"], bool):
                        raise ValueError(f"claims.{member}.{name}.essential must be true or false")
                    entry["essential"] = request["essential"]
                if "value" in request and "values" in request:
                    raise ValueError(f"claims.{member}.{name} has both value and values")
                if "value" in request:
                    entry["value"] = request["value"]
                if "values" in request:
                    if not isinstance(request["values"], list):
                        raise ValueError(f"claims.{member}.{name}.values must be an array")
                    entry["values"] = request["values"]
            entries[name] = entry or None
        parsed[member] = entries
    return parsed
