"""HTTP parsing shared by every endpoint: where a request came from and its single-valued parameters.

Protocol code receives these plain values, never an ``HttpRequest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from oauth_provider.conf import oauth_settings
from oauth_provider.errors import InvalidRequest


@dataclass(frozen=True)
class RequestContext:
    """Where a request came from, as the protocol code and the audit trail need it."""

    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: Any) -> RequestContext:
        meta = request.META
        return cls(ip_address=meta.get("REMOTE_ADDR") or None, user_agent=meta.get("HTTP_USER_AGENT", "")[:255])


NO_CONTEXT = RequestContext()


def single_valued(data: QueryDict) -> dict[str, str]:
    """A QueryDict as a plain dict, refusing repeats and oversized values; empty values dropped."""
    limit = oauth_settings.MAX_PARAMETER_LENGTH
    params: dict[str, str] = {}
    for name, values in data.lists():
        if len(values) > 1:
            raise InvalidRequest(f"The {name} parameter is repeated.")
        value = values[0]
        if len(value) > limit or len(name) > 100:
            raise InvalidRequest(f"The {name[:100]} parameter is too long.")
        if "\x00" in value:
            # Never legitimate, and PostgreSQL cannot even compare it (a DataError, not a 4xx).
            raise InvalidRequest(f"The {name[:100]} parameter contains a NUL character.")
        if value:
            params[name] = value
    return params
