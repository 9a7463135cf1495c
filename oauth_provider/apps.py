from django.apps import AppConfig


class OAuthProviderConfig(AppConfig):
    name = "oauth_provider"
    verbose_name = "OAuth 2.0 provider"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from oauth_provider import checks  # noqa: F401  (registers the system checks)
        from oauth_provider.oidc.sessions import record_login
        from oauth_provider.tokens import revocation  # noqa: F401  (revokes the tokens of deactivated clients)

        # OpenID Connect auth_time: every login path records when the user authenticated.
        user_logged_in.connect(record_login, dispatch_uid="oauth_provider.oidc.sessions.record_login")
