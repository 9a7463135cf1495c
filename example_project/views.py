from django.shortcuts import render

from oauth_provider.models import Application

from . import demo


def home(request):
    base = demo.base_url()
    demo_ids = [spec.client_id for spec in demo.CLIENTS]
    registered = {app.client_id: app for app in Application.objects.filter(client_id__in=demo_ids)}
    clients = [(spec, registered.get(spec.client_id)) for spec in demo.CLIENTS]
    service = demo.CLIENTS[0]
    curl = {
        "token": (
            f"curl -s -u {service.client_id}:{service.secret} "
            f"-d grant_type=client_credentials -d scope=read {base}/oauth/token/"
        ),
        "metadata": f"curl -s {base}/.well-known/oauth-authorization-server",
        "jwks": f"curl -s {base}/oauth/jwks/",
        "api_token": (
            f"TOKEN=$(curl -s -u {service.client_id}:{service.secret} "
            f"-d grant_type=client_credentials -d scope=read {base}/oauth/token/ "
            "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
        ),
        "api_me": f'curl -s -H "Authorization: Bearer $TOKEN" {base}/api/me',
    }
    return render(
        request,
        "example_project/home.html",
        {"base": base, "clients": clients, "users": demo.USERS, "curl": curl, "seeded": bool(registered)},
    )
