"""Every HTML page goes through views.pages.clean_failures: a database failure is the 503 error page, an
unexpected exception the 500 error page (never Django's own), each with the page headers."""

import ast
from pathlib import Path

import pytest
from django.db import DatabaseError

from oauth_provider.endpoints.device import UserCodeError
from oauth_provider.errors import OAuthError, TokenRequired
from oauth_provider.redirect_uris import RedirectTarget
from oauth_provider.views import authorize as authorize_views
from oauth_provider.views import device as device_views

pytestmark = pytest.mark.django_db

PACKAGE = Path(__file__).resolve().parents[2] / "oauth_provider"

PAGES = {
    # name: (method, path, module, the name inside the view to make fail)
    "device verify GET": ("get", "/oauth/device/verify/", device_views, "_entry_page"),
    "device verify POST": ("post", "/oauth/device/verify/", device_views, "find_device_code"),
    "device done": ("get", "/oauth/device/verify/done/?outcome=approved", device_views, "render"),
    "consent list": ("get", "/oauth/consents/", authorize_views, "consents_of"),
    "consent revoke": ("post", "/oauth/consents/1/revoke/", authorize_views, "revoke_consent"),
}


def _fail_with(monkeypatch, module, name, exc):
    def failing(*args, **kwargs):
        raise exc

    monkeypatch.setattr(module, name, failing)


def _assert_error_page(response, status, error):
    assert response.status_code == status
    assert b"cannot be completed" in response.content
    assert f"<code>{error}</code>".encode() in response.content
    assert response["X-Frame-Options"] == "DENY" and response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("page", PAGES)
def test_a_database_error_on_the_page_is_the_503_error_page(user_client, monkeypatch, page):
    method, path, module, name = PAGES[page]
    _fail_with(monkeypatch, module, name, DatabaseError("connection lost"))
    response = getattr(user_client, method)(path, {"user_code": "BCDFGHJK"} if method == "post" else None)
    _assert_error_page(response, 503, "temporarily_unavailable")


@pytest.mark.parametrize("page", PAGES)
def test_an_unexpected_exception_on_the_page_is_the_500_error_page(user_client, monkeypatch, page):
    method, path, module, name = PAGES[page]
    _fail_with(monkeypatch, module, name, RuntimeError("boom"))
    response = getattr(user_client, method)(path, {"user_code": "BCDFGHJK"} if method == "post" else None)
    _assert_error_page(response, 500, "server_error")
    assert b"boom" not in response.content


# --- one error type --------------------------------------------------------------------------------


def test_side_errors_are_oauth_errors():
    error = UserCodeError(UserCodeError.RATE_LIMITED, retry_after=30)
    assert isinstance(error, OAuthError)
    assert (error.status_code, error.headers, error.message) == (
        429, {"Retry-After": "30"}, "Too many wrong codes. Wait a while before trying again.")
    assert UserCodeError(UserCodeError.UNKNOWN).headers == {}
    assert issubclass(TokenRequired, OAuthError)


def test_an_oauth_error_raised_in_a_page_goes_where_it_says(user_client, monkeypatch):
    target = RedirectTarget("https://web.example.test/callback", "s")
    error = OAuthError("Sent to the client.")
    error.redirect = target
    _fail_with(monkeypatch, authorize_views, "consents_of", error)
    response = user_client.get("/oauth/consents/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://web.example.test/callback?error=invalid_request")
    _fail_with(monkeypatch, authorize_views, "consents_of", OAuthError("Shown to the user."))
    page = user_client.get("/oauth/consents/")
    assert page.status_code == 400 and b"Shown to the user." in page.content


def _function_names(module_path: Path, name: str) -> list[str]:
    tree = ast.parse(module_path.read_text())
    return [node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == name]


def test_there_is_one_error_response():
    owners = [path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
              if _function_names(path, "error_response")]
    assert owners == ["errors.py"]


# --- boundaries --------------------------------------------------------------------------------


def _imports(module_path: Path) -> set[str]:
    """The oauth_provider modules a module imports (``from oauth_provider.views import cors`` counts as
    ``oauth_provider.views.cors``)."""
    names = set()
    for node in ast.walk(ast.parse(module_path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module in ("oauth_provider", "oauth_provider.views", "oauth_provider.endpoints"):
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_device_endpoint_does_not_import_the_grants():
    assert not {n for n in _imports(PACKAGE / "endpoints" / "device.py") if n.startswith("oauth_provider.grants")}


# views/cors is the CORS helper of the token and revocation views, not an endpoint's view.
VIEW_HELPERS = {"oauth_provider.views.base", "oauth_provider.views.pages", "oauth_provider.views.cors"}


@pytest.mark.parametrize("module", sorted(p.name for p in (PACKAGE / "views").glob("*.py")))
def test_views_import_no_other_view(module):
    views = {n for n in _imports(PACKAGE / "views" / module) if n.startswith("oauth_provider.views.")}
    assert views <= VIEW_HELPERS, views


def test_no_page_view_renders_its_own_headers():
    # The page headers come from views.pages.secure only (no copy of _secure in the views).
    for path in (PACKAGE / "views").glob("*.py"):
        assert not _function_names(path, "_secure"), path.name
