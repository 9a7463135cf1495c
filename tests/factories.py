"""factory-boy factories for the tests. A confidential client's plaintext secret is on ``.secret``."""

import factory
from django.contrib.auth import get_user_model

from oauth_provider.models import Application, ClientType, GrantType


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A confidential client allowed client_credentials with scopes read and write."""

    class Meta:
        model = Application
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Client {n}")
    client_type = ClientType.CONFIDENTIAL
    grant_types = factory.LazyFunction(lambda: [GrantType.CLIENT_CREDENTIALS])
    allowed_scopes = "read write"
    default_scopes = "read"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        application = model_class(*args, **kwargs)
        application.secret = application.generate_secret() if application.is_confidential else None
        application.save()
        return application


class PublicApplicationFactory(ApplicationFactory):
    client_type = ClientType.PUBLIC
    grant_types = factory.LazyFunction(lambda: [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN])
    redirect_uris = "https://client.example.test/callback"


class WebApplicationFactory(ApplicationFactory):
    """A confidential web client using the authorization code flow (PKCE required by default)."""

    grant_types = factory.LazyFunction(lambda: [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN])
    redirect_uris = "https://web.example.test/callback"


class DeviceApplicationFactory(ApplicationFactory):
    """A public device client (TV, CLI) allowed the device grant and refresh tokens."""

    client_type = ClientType.PUBLIC
    grant_types = factory.LazyFunction(lambda: [GrantType.DEVICE_CODE, GrantType.REFRESH_TOKEN])


class OpenIDApplicationFactory(WebApplicationFactory):
    """A confidential web client that signs users in with OpenID Connect (code flow)."""

    allowed_scopes = "openid profile email address phone read"
    default_scopes = "openid"
    post_logout_redirect_uris = "https://web.example.test/logged-out"
