"""The demo users and clients of the example site, in one place for the seed command and the home page.

The demo secrets are fixed so that the home page can show curl commands that work; a real
deployment creates clients with ``manage.py oauth_create_client`` and gets random secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    is_staff: bool = False


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    name: str
    client_type: str
    grant_types: list[str]
    scopes: str
    default_scopes: str = "read"
    secret: str | None = None
    redirect_paths: list[str] = field(default_factory=list)
    description: str = ""
    # A browser app served by this site: the site's origin is registered for CORS at the token endpoint.
    served_by_site: bool = False
    # Where RP-initiated logout may send the user back (OpenID Connect), paths on this site.
    post_logout_paths: list[str] = field(default_factory=list)


USERS = [
    DemoUser("admin", "admin-demo-password", is_staff=True),
    DemoUser("alice", "alice-demo-password"),
    DemoUser("bob", "bob-demo-password"),
]

CLIENTS = [
    DemoClient(
        client_id="demo-service",
        name="Demo Backend Service",
        client_type="confidential",
        grant_types=["client_credentials"],
        scopes="read write",
        secret="demo-service-secret-not-for-production-0001",
        description="A machine-to-machine client: gets tokens for itself with client credentials.",
    ),
    DemoClient(
        client_id="demo-web",
        name="Demo Web App",
        client_type="confidential",
        grant_types=["authorization_code", "refresh_token"],
        scopes="read write notes:delete",
        secret="demo-web-secret-not-for-production-000000001",
        redirect_paths=["/demo/callback/"],
        description="A server-side web app acting for a user (authorization code + PKCE).",
    ),
    DemoClient(
        client_id="demo-spa",
        name="Demo Single-Page App",
        client_type="public",
        grant_types=["authorization_code", "refresh_token"],
        scopes="openid read write",
        redirect_paths=["/demo/spa/"],
        description="A browser app with no secret (authorization code + PKCE S256).",
        served_by_site=True,
    ),
    DemoClient(
        client_id="demo-rp",
        name="Demo Relying Party",
        client_type="confidential",
        grant_types=["authorization_code", "refresh_token"],
        scopes="openid profile email",
        default_scopes="openid",
        secret="demo-rp-secret-not-for-production-0000000001",
        redirect_paths=["/demo/oidc/callback/"],
        post_logout_paths=["/demo/oidc/"],
        description="\"Sign in with the demo provider\": OpenID Connect (ID Token, UserInfo, logout).",
    ),
    DemoClient(
        client_id="demo-device",
        name="Demo TV Device",
        client_type="public",
        grant_types=["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        scopes="read",
        description="A device without a browser (device authorization grant).",
    ),
]


def base_url() -> str:
    return settings.OAUTH_PROVIDER["ISSUER"].rstrip("/")


def site_origin() -> str:
    """The origin (scheme://host:port) of the example site, derived from the issuer."""
    issuer = urlsplit(base_url())
    return f"{issuer.scheme}://{issuer.netloc}"
