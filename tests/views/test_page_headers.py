"""What every HTML page of the provider shares: same-origin referrers and no third-party resources."""

import re

import pytest
from django.test import Client

from oauth_provider.views.pages import PAGE_HEADERS
from tests.helpers.device import enter, start
from tests.helpers.flows import authorize_url

pytestmark = pytest.mark.django_db


@pytest.mark.security("S8")
@pytest.mark.parametrize("page", ["login", "consent", "error"])
def test_login_consent_and_error_pages_send_no_cross_origin_referrer_and_load_no_third_party_resources(
    user, web_app, page
):
    browser = Client()
    if page == "login":
        response = browser.get("/accounts/login/")
    elif page == "consent":
        browser.force_login(user)
        response = browser.get(authorize_url(web_app))
    else:
        response = browser.get("/oauth/authorize/?client_id=unknown")
    assert response.status_code in (200, 400)
    assert response["Referrer-Policy"] == "same-origin"  # no referrer leaves the origin
    urls = re.findall(rb'(?:src|href|action)\s*=\s*["\']([^"\']+)', response.content)
    assert urls
    assert not [url for url in urls if re.match(rb"^(https?:)?//", url)], urls


SECURITY_MIDDLEWARE = ("django.middleware.security.SecurityMiddleware",
                       "django.middleware.clickjacking.XFrameOptionsMiddleware")


@pytest.mark.security("S31")
@pytest.mark.parametrize("page", ["consent", "device", "error"])
def test_the_pages_send_their_security_headers_without_any_security_middleware(
    settings, user, web_app, device_app, page
):
    assert set(SECURITY_MIDDLEWARE) <= set(settings.MIDDLEWARE)  # the project's headers would hide the pages'
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name not in SECURITY_MIDDLEWARE]
    browser = Client()
    browser.force_login(user)
    if page == "consent":
        response = browser.get(authorize_url(web_app))
    elif page == "device":
        response = enter(browser, start(Client(), device_app)["user_code"])
    else:
        response = browser.get("/oauth/authorize/?client_id=unknown")
    assert response.status_code in (200, 400)
    for name, value in PAGE_HEADERS.items():
        assert response[name] == value, name
