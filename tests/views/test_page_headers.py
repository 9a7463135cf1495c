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


def _pages_without_security_middleware(settings):
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name not in SECURITY_MIDDLEWARE]


def _every_page(name, user, web_app, device_app):
    """One response of each kind of page the library serves, by name."""
    from oauth_provider.models import Consent

    signed_in = Client()
    signed_in.force_login(user)
    anonymous = Client()
    if name == "consent page":
        return signed_in.get(authorize_url(web_app))
    if name == "authorize redirect after allow":
        return signed_in.post(authorize_url(web_app), {"decision": "allow"})
    if name == "authorize redirect without a page":
        Consent.objects.create(user=user, application=web_app, scope="read")
        return signed_in.get(authorize_url(web_app))
    if name == "authorize error redirect":
        return signed_in.get(authorize_url(web_app, response_type="nonsense"))
    if name == "authorize error page":
        return signed_in.get("/oauth/authorize/?client_id=unknown")
    if name == "authorize login redirect":
        return anonymous.get(authorize_url(web_app))
    if name == "authorize 405":
        return signed_in.put(authorize_url(web_app))
    if name == "authorize csrf failure":
        # The library's own csrf_protect answers (the project's CsrfViewMiddleware is removed for this page).
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(user)
        return strict.post(authorize_url(web_app), {"decision": "allow"})
    if name == "consent list":
        return signed_in.get("/oauth/consents/")
    if name == "consent list login redirect":
        return anonymous.get("/oauth/consents/")
    if name == "consent revoke":
        consent = Consent.objects.create(user=user, application=web_app, scope="read")
        return signed_in.post(f"/oauth/consents/{consent.pk}/revoke/")
    if name == "consent revoke 405":
        return signed_in.get("/oauth/consents/1/revoke/")
    if name == "device entry":
        return signed_in.get("/oauth/device/verify/")
    if name == "device confirmation":
        return enter(signed_in, start(Client(), device_app)["user_code"])
    if name == "device decision":
        code = start(Client(), device_app)["user_code"]
        enter(signed_in, code)
        return signed_in.post("/oauth/device/verify/", {"user_code": code, "decision": "allow"})
    if name == "device login redirect":
        return anonymous.get("/oauth/device/verify/")
    if name == "device done":
        return signed_in.get("/oauth/device/verify/done/?outcome=approved")
    if name == "device done 405":
        return signed_in.post("/oauth/device/verify/done/")
    raise AssertionError(name)


EVERY_PAGE = [
    "consent page", "authorize redirect after allow", "authorize redirect without a page", "authorize error redirect",
    "authorize error page", "authorize login redirect", "authorize 405", "authorize csrf failure", "consent list",
    "consent list login redirect", "consent revoke", "consent revoke 405", "device entry", "device confirmation",
    "device decision", "device login redirect", "device done", "device done 405",
]


@pytest.mark.security("S31")
@pytest.mark.parametrize("page", EVERY_PAGE)
def test_every_page_response_of_the_library_sends_its_headers_without_security_middleware(
    settings, user, web_app, device_app, page
):
    _pages_without_security_middleware(settings)
    if page == "authorize csrf failure":
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "django.middleware.csrf.CsrfViewMiddleware"]
    response = _every_page(page, user, web_app, device_app)
    assert response.status_code < 500, (response.status_code, response.content[:200])
    for name, value in PAGE_HEADERS.items():
        assert response.get(name) == value, (page, name, response.status_code)


@pytest.mark.security("S31")
@pytest.mark.parametrize("failure", ["database", "bug"])
def test_the_failure_pages_send_their_headers_without_security_middleware(settings, user, web_app, failure,
                                                                          monkeypatch):
    from django.db import OperationalError

    from oauth_provider.views import authorize as authorize_views

    _pages_without_security_middleware(settings)

    def broken(*args, **kwargs):
        raise OperationalError("down") if failure == "database" else RuntimeError("bug")

    monkeypatch.setattr(authorize_views, "validate_authorization_request", broken)
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    response = browser.get(authorize_url(web_app))
    assert response.status_code == (503 if failure == "database" else 500)
    for name, value in PAGE_HEADERS.items():
        assert response[name] == value, name
