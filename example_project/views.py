from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from oauth_provider.endpoints.metadata import server_metadata
from oauth_provider.models import Application

from . import demo


def _device_verification_path() -> str | None:
    """The device verification page, when the device flow is installed (None otherwise)."""
    try:
        return reverse("oauth_provider:device_verify")
    except NoReverseMatch:
        return None


def _curl_commands(base: str, metadata: dict) -> dict[str, str]:
    """Copy-paste commands that work against this site; tests run them."""
    service = demo.CLIENTS[0]
    token = (
        f"curl -s -u {service.client_id}:{service.secret} "
        f"-d grant_type=client_credentials -d scope=read {base}/oauth/token/"
    )
    curl = {
        "token": token,
        "metadata": f"curl -s {base}/.well-known/oauth-authorization-server",
        "jwks": f"curl -s {base}/oauth/jwks/",
        "api_token": f"TOKEN=$({token} | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        "api_me": f'curl -s -H "Authorization: Bearer $TOKEN" {base}/api/me',
        "api_ping": f'curl -s -H "Authorization: Bearer $TOKEN" {base}/api/ping',
    }
    if "revocation_endpoint" in metadata:
        curl["revoke"] = (
            f'curl -s -u {service.client_id}:{service.secret} -d token="$TOKEN" {metadata["revocation_endpoint"]}'
        )
    if "device_authorization_endpoint" in metadata:
        curl["device"] = f"curl -s -d client_id=demo-device -d scope=read {metadata['device_authorization_endpoint']}"
    return curl


def home(request):
    base = demo.base_url()
    demo_ids = [spec.client_id for spec in demo.CLIENTS]
    registered = {app.client_id: app for app in Application.objects.filter(client_id__in=demo_ids)}
    clients = [(spec, registered.get(spec.client_id)) for spec in demo.CLIENTS]
    metadata = server_metadata()
    context = {
        "base": base,
        "clients": clients,
        "users": demo.USERS,
        "curl": _curl_commands(base, metadata),
        "seeded": bool(registered),
        "device_verification_path": _device_verification_path(),
        "has_revocation": "revocation_endpoint" in metadata,
    }
    return render(request, "example_project/home.html", context)
