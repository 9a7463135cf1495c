"""HTTP parsing shared by every endpoint: where a request came from, its single-valued parameters
(and the one multi-valued one, ``resource``), JSON bodies, the ``Authorization`` header (Basic, Bearer
and DPoP), the one ``WWW-Authenticate`` challenge builder, and the absolute URLs of our endpoints.

Protocol code receives these plain values, never an ``HttpRequest``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from django.core.exceptions import BadRequest
from django.http import QueryDict
from django.urls import NoReverseMatch, reverse

from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidClient, InvalidRequest


@dataclass(frozen=True)
class RequestContext:
    """Where a request came from, as the protocol code and the audit trail need it."""

    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: Any) -> RequestContext:
        """The one place a request's address is read: ``client_address`` of its META."""
        meta = request.META
        return cls(ip_address=client_address(meta), user_agent=meta.get("HTTP_USER_AGENT", "")[:255])


NO_CONTEXT = RequestContext()


def client_address(meta: Mapping[str, Any]) -> str | None:
    """The address of the client behind ``NUM_PROXIES`` trusted proxies (DRF's convention).

    Each proxy appends the address it received the request from to ``X-Forwarded-For``, so with n
    trusted proxies the client's address is the n-th entry from the right; entries further left are
    whatever the client sent and are never read. With 0 (the default), or without the header, it is
    ``REMOTE_ADDR``. A header shorter than n gives its leftmost entry (as DRF does); an entry that is
    no IP address (optionally with a port) gives ``REMOTE_ADDR``.
    """
    remote = meta.get("REMOTE_ADDR") or None
    hops = oauth_settings.NUM_PROXIES
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if not hops or not forwarded:
        return remote
    entries = forwarded.split(",")
    return _ip_address(entries[-min(hops, len(entries))].strip()) or remote


def _ip_address(entry: str) -> str | None:
    """``entry`` as a normalised IP address: ``192.0.2.1``, ``192.0.2.1:4711``, ``2001:db8::1`` or
    ``[2001:db8::1]:4711``; None for anything else."""
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


# --- single-valued parameters (RFC 6749 §3.1, §3.2) -------------------------------------------

REPEATED = "repeated"
TOO_LONG = "too long"
HAS_NUL = "contains a NUL character"
# Longer parameter names are refused (and cut to this length when named in an error).
MAX_NAME_LENGTH = 100
# Parameters that may be repeated: RFC 8707 §2 ``resource`` (one per resource). ``read_parameters``
# leaves them out; ``resources`` reads them.
MULTI_VALUED = frozenset({"resource"})


def read_parameters(data: QueryDict) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The one rule for single-valued parameters: ``(params, problems)``.

    ``params`` holds the good parameters (empty values dropped); ``problems`` lists, in request
    order, ``(name, problem)`` for every parameter that is repeated, too long (value or name) or
    holds a NUL character. Callers decide how to report them: ``single_valued`` refuses the first,
    the authorization endpoint needs the names to report them in its safe order.
    """
    limit = oauth_settings.MAX_PARAMETER_LENGTH
    params: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for name, values in data.lists():
        if name in MULTI_VALUED:
            continue
        value = values[0]
        if len(values) > 1:
            problems.append((name, REPEATED))
        elif len(value) > limit or len(name) > MAX_NAME_LENGTH:
            problems.append((name, TOO_LONG))
        elif "\x00" in value:
            # Never legitimate, and PostgreSQL cannot even compare it (a DataError, not a 4xx).
            problems.append((name, HAS_NUL))
        elif value:
            params[name] = value
    return params, problems


# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: never part of an
# identifier, a URI or a code (docs/SECURITY.md S30).
_CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def has_control_character(value: str) -> bool:
    """Whether ``value`` holds a control character or a line break of any kind (``\\n``, ``\\x85``, U+2028)."""
    return any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in value)


def single_valued(data: QueryDict) -> dict[str, str]:
    """A QueryDict as a plain dict, refusing repeats and oversized values; empty values dropped."""
    params, problems = read_parameters(data)
    if problems:
        name, problem = problems[0]
        if problem == REPEATED:
            raise InvalidRequest(f"The {name} parameter is repeated.")
        if problem == TOO_LONG:
            raise InvalidRequest(f"The {name[:MAX_NAME_LENGTH]} parameter is too long.")
        raise InvalidRequest(f"The {name[:MAX_NAME_LENGTH]} parameter contains a NUL character.")
    return params


# --- JSON bodies (RFC 7591 §3.1, RFC 7592 §2.2) ------------------------------------------------

# A client metadata document is a few kilobytes, two levels deep (an object of arrays of strings);
# these bounds leave room for JWK Sets and keep parsing cheap whatever arrives.
MAX_JSON_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 8


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_json_body(raw: bytes) -> Any:
    """The one JSON body parser: strict UTF-8 JSON, at most ``MAX_JSON_BODY_BYTES`` and ``MAX_JSON_DEPTH``
    deep, no NaN or Infinity, and no string (member names included) holding a NUL or a lone surrogate,
    which no database stores; anything else is ``invalid_request``, never a server error."""
    if len(raw) > MAX_JSON_BODY_BYTES:
        raise InvalidRequest(f"The request body is larger than {MAX_JSON_BODY_BYTES} bytes.")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidRequest("The request body is not valid JSON.") from exc
    _check_json_value(value, depth=1)
    return value


def _check_json_value(value: Any, *, depth: int) -> None:
    # Iterative over siblings, recursive only as deep as MAX_JSON_DEPTH.
    if isinstance(value, str):
        _check_json_string(value)
        return
    if not isinstance(value, dict | list):
        return
    if depth > MAX_JSON_DEPTH:
        raise InvalidRequest(f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(key, str):
            _check_json_string(key)
        _check_json_value(item, depth=depth + 1)


def _check_json_string(text: str) -> None:
    if "\x00" in text:
        raise InvalidRequest("The request body holds a NUL character.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequest("The request body holds an unpaired surrogate (\\uD800-\\uDFFF).") from exc


def resources(data: QueryDict) -> list[str]:
    """The ``resource`` parameters (RFC 8707 §2), in order, empty ones dropped; too long or NUL is
    ``invalid_request``. Whether they name registered resources is ``clients.resources``'s business."""
    limit = oauth_settings.MAX_PARAMETER_LENGTH
    values = [value for value in data.getlist("resource") if value]
    for value in values:
        if len(value) > limit or "\x00" in value:
            raise InvalidRequest("A resource parameter is too long or contains a NUL character.")
    return values


# --- WWW-Authenticate (RFC 9110 §11.6.1, RFC 6750 §3, RFC 7617 §2) ----------------------------

# RFC 6750 §3: quoted values are limited to these characters; anything else is dropped.
_UNSAFE_IN_QUOTES = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def _quoted(value: str) -> str:
    return '"' + _UNSAFE_IN_QUOTES.sub("", value) + '"'


def www_authenticate(scheme: str, **params: str | None) -> str:
    """The one builder of ``WWW-Authenticate`` challenges, for every endpoint and the resource side.

    The realm is always ``RESOURCE_REALM`` (one setting for the whole server); ``params`` follow it
    in the order given, quoted and stripped of characters RFC 6750 §3 does not allow; None or empty
    values are left out.
    """
    parts = [f"realm={_quoted(oauth_settings.RESOURCE_REALM)}"]
    parts.extend(f"{name}={_quoted(value)}" for name, value in params.items() if value)
    return f"{scheme} " + ", ".join(parts)


def basic_challenge() -> dict[str, str]:
    """The header of a 401 for HTTP Basic client authentication (RFC 6749 §2.3.1, RFC 7617)."""
    return {"WWW-Authenticate": www_authenticate("Basic", charset="UTF-8")}


def bearer_challenge(error: str | None = "invalid_token") -> dict[str, str]:
    """The header of a 401 for a missing (``error=None``) or refused bearer token (RFC 6750 §3)."""
    return {"WWW-Authenticate": www_authenticate("Bearer", error=error)}


# --- the Authorization header -----------------------------------------------------------------

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def authorization_scheme(authorization: str) -> tuple[str, str]:
    """``(scheme in lower case, credentials stripped)`` of an ``Authorization`` header value."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    return scheme.lower(), credentials.strip()


def bearer_credentials(authorization: str) -> str | None:
    """What follows ``Bearer`` in an ``Authorization`` header (RFC 6750 §2.1): None for no header or
    another scheme, possibly ``""`` or malformed (check it with ``is_b64token``)."""
    scheme, credentials = authorization_scheme(authorization)
    return credentials if scheme == "bearer" else None


# The schemes that carry an access token: RFC 6750 §2.1 and RFC 9449 §7.1 (a DPoP-bound token + a proof).
ACCESS_TOKEN_SCHEMES = {"bearer": "Bearer", "dpop": "DPoP"}


def access_token_credentials(authorization: str) -> tuple[str, str] | None:
    """``(scheme, credentials)`` of an ``Authorization: Bearer`` or ``DPoP`` header, the scheme spelt as
    registered; None for no header or another scheme; the credentials possibly ``""`` or malformed."""
    scheme, credentials = authorization_scheme(authorization)
    name = ACCESS_TOKEN_SCHEMES.get(scheme)
    return (name, credentials) if name else None


def is_b64token(value: str) -> bool:
    return B64TOKEN.fullmatch(value) is not None


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` of an ``Authorization: Basic`` header, None without a header.

    RFC 6749 §2.3.1: both halves are form-urlencoded before Basic encoding. Another scheme or a
    malformed value is ``invalid_client`` with the Basic challenge.
    """
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient("Only HTTP Basic client authentication is supported in the Authorization header.",
                            headers=basic_challenge())
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidClient("Malformed HTTP Basic credentials.", headers=basic_challenge()) from exc
    client_id, sep, client_secret = decoded.partition(":")
    client_id, client_secret = unquote_plus(client_id), unquote_plus(client_secret)
    if not sep or not client_id or "\x00" in client_id + client_secret:
        raise InvalidClient("Malformed HTTP Basic credentials.", headers=basic_challenge())
    return client_id, client_secret


FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


def _form_has_token(request: Any) -> bool:
    # Only a urlencoded POST can carry a form-encoded token (§2.2); reading it there is cheap
    # and leaves the body readable for DRF (Django keeps request.body).
    content_type = request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if request.method != "POST" or content_type != FORM_MEDIA_TYPE:
        return False
    try:
        return "access_token" in request.POST
    except BadRequest:
        # An unreadable form (e.g. a charset other than UTF-8): the view answers it, not the middleware.
        return False


def request_access_token(request: Any) -> tuple[str, str] | None:
    """``(scheme, token)`` of a Django request: scheme ``Bearer`` (RFC 6750 §2.1) or ``DPoP`` (RFC 9449
    §7.1), header only; None when it carries neither; InvalidRequest when malformed, in the query string
    (RFC 9700 §4.3.2), in the body or in two places. A DPoP request's error carries ``scheme = "DPoP"``
    so that its challenge names that scheme."""
    if "access_token" in request.GET:
        raise InvalidRequest("Access tokens in the query string are refused; use the Authorization header.")
    found = access_token_credentials(request.META.get("HTTP_AUTHORIZATION", ""))
    in_body = _form_has_token(request)
    if found is None:
        # No header, or another scheme (Basic, ...): no token credentials in the header.
        if in_body:
            raise InvalidRequest("Send the access token in the Authorization header, not in the body.")
        return None
    scheme, credentials = found
    if in_body:
        error = InvalidRequest("The request carries an access token in more than one place.")
    elif credentials and is_b64token(credentials):
        return scheme, credentials
    else:
        error = InvalidRequest(f"The Authorization header is malformed; use '{scheme} <token>'.")
    if scheme == ACCESS_TOKEN_SCHEMES["dpop"]:
        error.scheme = scheme
    raise error


def request_bearer_token(request: Any) -> str | None:
    """The bearer token of a Django request (``request_access_token`` with the Bearer scheme only);
    None when it carries none or another scheme."""
    found = request_access_token(request)
    if found is None or found[0] != ACCESS_TOKEN_SCHEMES["bearer"]:
        return None
    return found[1]


# --- our own URLs ------------------------------------------------------------------------------


def endpoint_url(name: str) -> str | None:
    """Absolute URL of one of our endpoints on the issuer's origin, or None if it is not routed."""
    try:
        path = reverse(f"oauth_provider:{name}")
    except NoReverseMatch:
        return None
    issuer = urlsplit(oauth_settings.ISSUER)
    return f"{issuer.scheme}://{issuer.netloc}{path}"


# --- outbound fetches -------------------------------------------------------------------------


def is_local_fetch_host(host: str | None) -> bool:
    """Whether this server may fetch from ``host`` over plain http (e.g. a JWKS URL in development):
    ``localhost`` or a loopback IP. Not the redirect URI rule (``redirect_uris.is_loopback_host``,
    which refuses ``localhost``): this is a request the server makes itself, to its own machine."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
