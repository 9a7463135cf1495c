from django.apps import AppConfig


class OAuthProviderConfig(AppConfig):
    name = "oauth_provider"
    verbose_name = "OAuth 2.0 provider"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oauth_provider import (
            checks,  # noqa: F401  (registers the system checks)
            receivers,
        )

        receivers.connect()
