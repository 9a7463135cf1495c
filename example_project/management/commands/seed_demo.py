"""Create (or reset) the demo users and clients; safe to run any number of times."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from oauth_provider.keys.store import get_signing_key
from oauth_provider.models import Application, TokenEndpointAuthMethod

from ... import demo


class Command(BaseCommand):
    help = "Seed the demo users and clients of the example site (idempotent)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            self._seed()
        get_signing_key()  # the first key, so the JWKS is populated before the first token
        self._report()

    def _seed(self) -> None:
        User = get_user_model()
        for spec in demo.USERS:
            user, _ = User.objects.get_or_create(username=spec.username)
            user.is_staff = user.is_superuser = spec.is_staff
            user.set_password(spec.password)
            user.save()
        base = demo.base_url()
        for spec in demo.CLIENTS:
            application, _ = Application.objects.get_or_create(client_id=spec.client_id, defaults={"name": spec.name})
            application.name = spec.name
            application.client_type = spec.client_type
            application.grant_types = spec.grant_types
            application.allowed_scopes = spec.scopes
            application.default_scopes = spec.default_scopes
            application.redirect_uris = "\n".join([base + path for path in spec.redirect_paths] + spec.redirect_uris)
            application.allowed_origins = demo.site_origin() if spec.served_by_site else ""
            application.post_logout_redirect_uris = "\n".join(base + path for path in spec.post_logout_paths)
            application.is_active = True
            if spec.secret:
                application.set_secret(spec.secret)
            else:
                application.client_secret_digest = ""
            methods = TokenEndpointAuthMethod
            application.token_endpoint_auth_method = (
                methods.PRIVATE_KEY_JWT if spec.private_key_jwt else methods.SECRET_OR_NONE
            )
            application.jwks = demo.demo_bank_jwks() if spec.private_key_jwt else None
            application.require_pushed_authorization_requests = spec.require_pushed_authorization_requests
            application.is_resource_server = bool(spec.resource_paths)
            application.resource_audiences = "\n".join(base + path for path in spec.resource_paths)
            application.resource_scopes = spec.resource_scopes
            application.full_clean()
            application.save()

    def _report(self) -> None:
        base = demo.base_url()
        write = self.stdout.write
        write(self.style.SUCCESS("Demo data ready."))
        write("Users (username / password):")
        for spec in demo.USERS:
            write(f"  {spec.username} / {spec.password}" + ("  (admin)" if spec.is_staff else ""))
        write("Clients:")
        for spec in demo.CLIENTS:
            if spec.private_key_jwt:
                secret = "  (private_key_jwt, key in example_project/demo.py)"
            else:
                secret = f"  secret: {spec.secret}" if spec.secret else "  (public, no secret)"
            write(f"  {spec.client_id}: {spec.name} [{', '.join(spec.grant_types)}]{secret}")
        write("URLs:")
        write(f"  home      {base}/")
        write(f"  admin     {base}/admin/")
        write(f"  metadata  {base}/.well-known/oauth-authorization-server")
        write(f"  openid    {base}/.well-known/openid-configuration")
        write(f"  sign-in   {base}/demo/oidc/")
        write(f"  jwks      {base}/oauth/jwks/")
        write(f"  token     {base}/oauth/token/")
        write(f"  par       {base}/oauth/par/")
