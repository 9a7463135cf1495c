import pytest
from django.core.exceptions import ValidationError

from oauth_provider import crypto
from oauth_provider.models import Application, ClientType, GrantType
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db


def test_secret_is_stored_only_as_its_digest():
    application = ApplicationFactory()
    stored = Application.objects.values_list("client_secret_digest", flat=True).get(pk=application.pk)
    assert stored == crypto.digest(application.secret)
    assert application.secret not in str(Application.objects.filter(pk=application.pk).values().get())


def test_check_secret_compares_against_the_digest():
    application = ApplicationFactory()
    assert application.check_secret(application.secret)
    assert not application.check_secret(application.secret + "x")
    assert not application.check_secret("")


def test_model_refuses_to_save_a_plaintext_secret():
    application = ApplicationFactory()
    application.client_secret_digest = "my-plaintext-secret"
    with pytest.raises(ValueError, match="digest"):
        application.save()


def test_public_client_cannot_have_a_secret():
    application = Application(name="SPA", client_type=ClientType.PUBLIC)
    application.client_secret_digest = crypto.digest("x")
    with pytest.raises(ValueError, match="public"):
        application.save()


def test_short_caller_chosen_secret_is_refused():
    with pytest.raises(ValueError):
        Application(name="x").set_secret("short")


def test_rotating_the_secret_invalidates_the_old_one():
    application = ApplicationFactory()
    old = application.secret
    new = application.generate_secret()
    application.save()
    application.refresh_from_db()
    assert application.check_secret(new)
    assert not application.check_secret(old)


def test_client_ids_are_generated_and_unique():
    a, b = ApplicationFactory(), ApplicationFactory()
    assert a.client_id and b.client_id and a.client_id != b.client_id


def clean_errors(**fields):
    application = Application(name="x", **fields)
    with pytest.raises(ValidationError) as exc:
        application.full_clean()
    return exc.value.message_dict


def test_public_client_with_client_credentials_is_invalid():
    errors = clean_errors(client_type=ClientType.PUBLIC, grant_types=[GrantType.CLIENT_CREDENTIALS])
    assert "grant_types" in errors


def test_unknown_grant_type_is_invalid():
    assert "grant_types" in clean_errors(grant_types=["magic"])


def test_authorization_code_needs_a_redirect_uri():
    assert "redirect_uris" in clean_errors(grant_types=[GrantType.AUTHORIZATION_CODE])


@pytest.mark.parametrize(
    "uri",
    ["http://client.example.test/cb", "https://client.example.test/cb#frag", "https://*.example.test/cb",
     "relative/path", "ftp://client.example.test/cb", "https://user:pw@client.example.test/cb",
     "http://localhost/cb"],
)
def test_bad_redirect_uris_are_invalid(uri):
    assert "redirect_uris" in clean_errors(grant_types=[GrantType.AUTHORIZATION_CODE], redirect_uris=uri)


@pytest.mark.parametrize(
    "uri", ["https://client.example.test/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb",
            "com.example.app:/oauth2redirect"],
)
def test_good_redirect_uris_are_valid(uri):
    Application(name="x", grant_types=[GrantType.AUTHORIZATION_CODE], redirect_uris=uri,
                allowed_scopes="read").full_clean()


def test_scopes_must_be_known_to_the_server():
    assert "allowed_scopes" in clean_errors(allowed_scopes="read launch-missiles")


def test_default_scopes_must_be_allowed():
    assert "default_scopes" in clean_errors(allowed_scopes="read", default_scopes="write")
