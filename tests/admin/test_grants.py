"""Codes, refresh tokens and consents in the admin: visible, read-only, never their digests."""

import pytest

from oauth_provider.models import AuthorizationCode, RefreshToken
from tests.helpers.flows import obtain_code, redeem

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(user_client, web_app):
    redeem(user_client, web_app, obtain_code(user_client, web_app))


@pytest.mark.parametrize("model", ["authorizationcode", "refreshtoken", "consent"])
def test_list_pages_render(admin_client, issued, model):
    assert admin_client.get(f"/admin/oauth_provider/{model}/").status_code == 200


def test_code_page_shows_no_digest(admin_client, issued):
    code = AuthorizationCode.objects.get()
    response = admin_client.get(f"/admin/oauth_provider/authorizationcode/{code.pk}/change/")
    assert response.status_code == 200
    assert code.code_digest not in response.content.decode()


def test_refresh_token_page_shows_no_digest(admin_client, issued):
    token = RefreshToken.objects.get()
    response = admin_client.get(f"/admin/oauth_provider/refreshtoken/{token.pk}/change/")
    assert response.status_code == 200
    assert token.token_digest not in response.content.decode()


def test_codes_cannot_be_added(admin_client):
    assert admin_client.get("/admin/oauth_provider/authorizationcode/add/").status_code == 403
