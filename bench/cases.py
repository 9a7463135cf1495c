"""The benchmark cases, one declarative entry each (issue 9).

A case names its request (method, path), the floor its throughput is divided by, and a
``prepare`` fixture that runs before the clock starts and returns the headers plus either one
reusable body or a factory of single-use bodies (``mint``: n → n bodies, each sent once).
A case whose URL answers 404 on this server is skipped with the reason printed, so cases for
endpoints that live on other branches switch themselves on once those are merged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from . import fixtures
from .fixtures import FORM, World


@dataclass(frozen=True)
class Prepared:
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    mint: Callable[[int], list[str]] | None = None  # single-use bodies
    # Single-use values of one more header, made for the request URL: (url, n) -> n values (DPoP proofs).
    header_name: str | None = None
    mint_header: Callable[[str, int], list[str]] | None = None

    @property
    def single_use(self) -> bool:
        return self.mint is not None

    @property
    def single_use_header(self) -> bool:
        return self.mint_header is not None

    def headers_for(self, url: str) -> dict[str, str]:
        """The headers of one request to ``url`` (with a fresh single-use header when the case has one)."""
        if self.mint_header is None:
            return dict(self.headers)
        return {**self.headers, self.header_name: self.mint_header(url, 1)[0]}

    def bodies(self, count: int) -> list[str]:
        if self.mint is not None:
            return self.mint(count)
        return [self.body] if self.body is not None else []


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    method: str
    path: str
    prepare: Callable[[World], Prepared]
    floor: str | None = None  # None: the case is a floor
    signing_algorithm: str = "RS256"  # served by a gunicorn started with this OAUTH_SIGNING_ALGORITHM
    target_ratio: float | None = None  # the minimum fraction of the floor's req/s
    max_queries: int | None = None  # the SQL budget per request
    scale: bool = False  # measured again with 1,000,000 rows in the token tables (BENCH_SCALE=1)
    writes: bool = False  # commits per request: measured again with synchronous_commit = off (second column)


def _nothing(world: World) -> Prepared:
    return Prepared()


def _client_credentials(world: World) -> Prepared:
    return Prepared(headers={"Authorization": world.service.basic, "Content-Type": FORM},
                    body="grant_type=client_credentials")


def _code_redemption(world: World) -> Prepared:
    return Prepared(headers={"Authorization": world.web.basic, "Content-Type": FORM},
                    mint=lambda n: fixtures.mint_codes(world, n))


def _refresh_rotation(world: World) -> Prepared:
    return Prepared(headers={"Authorization": world.web.basic, "Content-Type": FORM},
                    mint=lambda n: fixtures.refresh_bodies(world, n))


def _bearer(world: World) -> Prepared:
    return Prepared(headers={"Authorization": f"Bearer {fixtures.access_token(world)}"})


def _dpop(world: World) -> Prepared:
    key, access = fixtures.dpop_access_token(world)
    return Prepared(headers={"Authorization": f"DPoP {access}"}, header_name="DPoP",
                    mint_header=lambda url, n: fixtures.dpop_proofs(key, "GET", url, access, n))


def _introspection(world: World) -> Prepared:
    return Prepared(headers={"Authorization": world.service.basic, "Content-Type": FORM},
                    body=urlencode({"token": fixtures.access_token(world), "token_type_hint": "access_token"}))


def _revocation(world: World) -> Prepared:
    return Prepared(headers={"Authorization": world.web.basic, "Content-Type": FORM},
                    mint=lambda n: fixtures.revocation_bodies(world, n))


FLOOR_A = "floor_a"
FLOOR_B = "floor_b"

# Floor B's view behind BearerTokenAuthentication + HasScopes (bench/views.py); BENCH_PROTECTED_PATH
# names another protected view for one run (e.g. the demo API's /api/me, which also loads the user).
PROTECTED_PATH = "/bench/protected/"

CASES: list[Case] = [
    Case(FLOOR_A, "1. floor A: bare Django JSON view", "GET", "/bench/floor-a/", _nothing),
    Case(FLOOR_B, "1. floor B: DRF view, no authentication", "GET", "/bench/floor-b/", _nothing),
    Case("client_credentials_rs256", "2. client credentials (RS256)", "POST", "/oauth/token/", _client_credentials,
         floor=FLOOR_A, target_ratio=0.25, max_queries=3, scale=True, writes=True),
    Case("client_credentials_es256", "2. client credentials (ES256)", "POST", "/oauth/token/", _client_credentials,
         floor=FLOOR_A, signing_algorithm="ES256", max_queries=3, writes=True),
    Case("code_redemption", "3. code redemption + PKCE", "POST", "/oauth/token/", _code_redemption,
         floor=FLOOR_A, max_queries=6, writes=True),
    Case("refresh_rotation", "3. refresh-token rotation", "POST", "/oauth/token/", _refresh_rotation,
         floor=FLOOR_A, target_ratio=0.12, max_queries=6, writes=True),
    Case("protected_api", "4. protected DRF view (JWT)", "GET", PROTECTED_PATH, _bearer,
         floor=FLOOR_B, target_ratio=0.90, max_queries=0, scale=True),
    Case("protected_api_dpop", "4. protected DRF view (DPoP-bound JWT + proof)", "GET", PROTECTED_PATH, _dpop,
         floor=FLOOR_B, max_queries=0),
    Case("introspection", "5. introspection", "POST", "/oauth/introspect/", _introspection,
         floor=FLOOR_A, target_ratio=0.30, max_queries=1),
    Case("revocation", "5. revocation (refresh token)", "POST", "/oauth/revoke/", _revocation, floor=FLOOR_A,
         writes=True),
    Case("jwks", "6. JWKS document", "GET", "/oauth/jwks/", _nothing, floor=FLOOR_A),
    Case("metadata", "6. metadata document", "GET", "/.well-known/oauth-authorization-server", _nothing,
         floor=FLOOR_A),
]


def case_named(name: str) -> Case:
    return next(case for case in CASES if case.name == name)
