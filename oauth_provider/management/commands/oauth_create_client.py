"""Create a client from the command line and print its credentials once."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from oauth_provider import audit
from oauth_provider.conf import oauth_settings
from oauth_provider.models import Application, ClientType, GrantType


class Command(BaseCommand):
    help = "Create an OAuth client and print its client_id and (for confidential clients) its secret."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="Human name shown on the consent page.")
        parser.add_argument("--type", dest="client_type", choices=ClientType.values, default=ClientType.CONFIDENTIAL)
        parser.add_argument(
            "--grant-type", dest="grant_types", action="append", choices=GrantType.values, default=[],
            help="Allowed grant type; repeat for several.",
        )
        parser.add_argument("--redirect-uri", dest="redirect_uris", action="append", default=[],
                            help="Registered redirect URI; repeat for several.")
        parser.add_argument("--scope", default=None,
                            help="Space-separated scopes the client may ask for; default: the server's DEFAULT_SCOPES.")
        parser.add_argument("--default-scope", default="", help="Space-separated scopes granted by default.")
        parser.add_argument("--skip-consent", action="store_true", help="Trusted first-party client.")
        parser.add_argument("--origin", dest="origins", action="append", default=[],
                            help="Browser origin allowed for CORS (e.g. https://app.example.com); repeat for several.")
        parser.add_argument("--access-token-lifetime", type=int, default=None, metavar="SECONDS",
                            help="Lifetime of this client's access tokens; default: ACCESS_TOKEN_LIFETIME.")
        parser.add_argument("--client-id", default=None,
                            help="A fixed client id (e.g. one the client already uses); default: a random one.")
        parser.add_argument("--no-pkce", dest="require_pkce", action="store_false",
                            help="Do not require PKCE from this confidential client (public clients always need it).")
        parser.add_argument("--json", action="store_true", help="Print the credentials as JSON, for scripts.")

    def handle(self, *args, **options) -> None:
        application = Application(
            name=options["name"],
            client_type=options["client_type"],
            grant_types=options["grant_types"],
            redirect_uris="\n".join(options["redirect_uris"]),
            allowed_scopes=" ".join(oauth_settings.DEFAULT_SCOPES) if options["scope"] is None else options["scope"],
            default_scopes=options["default_scope"],
            skip_consent=options["skip_consent"],
            allowed_origins="\n".join(options["origins"]),
            access_token_lifetime=options["access_token_lifetime"],
            require_pkce=options["require_pkce"],
        )
        if options["client_id"]:
            application.client_id = options["client_id"]
        if options["access_token_lifetime"] is not None and options["access_token_lifetime"] <= 0:
            raise CommandError("invalid client: --access-token-lifetime must be a positive number of seconds")
        try:
            application.full_clean()
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(f"invalid client: {problems}") from exc
        # A client without a grant type or without scopes is saved fine but can never get a token.
        if not application.grant_types:
            raise CommandError("invalid client: name at least one --grant-type (without one it can never get a token)")
        if not application.allowed_scope_list:
            raise CommandError("invalid client: name its scopes with --scope (without them every request fails "
                               "with invalid_scope)")
        secret = application.generate_secret() if application.is_confidential else None
        with transaction.atomic():
            application.save()
            audit.record(audit.CLIENT_CREATED, application=application, source="command")
        result = {
            "client_id": application.client_id,
            "client_type": application.client_type,
            "grant_types": application.grant_types,
            "redirect_uris": application.redirect_uri_list,
            "scope": application.allowed_scopes,
            "allowed_origins": application.origin_list,
            "access_token_lifetime": application.access_token_lifetime,
            "require_pkce": application.require_pkce,
        }
        if secret is not None:
            result["client_secret"] = secret
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(self.style.SUCCESS(f"Created client {application.name!r}"))
        for key, value in result.items():
            self.stdout.write(f"  {key}: {value}")
        if secret is not None:
            self.stdout.write(self.style.WARNING("  The secret is shown only now; store it safely."))
