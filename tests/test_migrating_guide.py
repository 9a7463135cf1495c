"""docs/MIGRATING_FROM_DOT.md stays true: every DOT setting has a row, every setting it names exists,
every grant type the import knows is described, every option it shows exists; the README links it."""

from __future__ import annotations

import re
from pathlib import Path

from oauth_provider.clients.dot_import import GRANT_MAP, NO_EQUIVALENT
from oauth_provider.conf import DEFAULTS
from tests.helpers.markdown import tables as markdown_tables

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "MIGRATING_FROM_DOT.md").read_text()

# django-oauth-toolkit 3.x's OAUTH2_PROVIDER keys (oauth2_provider/settings.py DEFAULTS, the private
# "_SCOPES"/"_DEFAULT_SCOPES" left out), plus the OIDC_RP_INITIATED_LOGOUT_* family written as one row.
DOT_SETTINGS = [
    "CLIENT_ID_GENERATOR_CLASS", "CLIENT_SECRET_GENERATOR_CLASS", "CLIENT_SECRET_GENERATOR_LENGTH",
    "CLIENT_SECRET_HASHER", "ACCESS_TOKEN_GENERATOR", "REFRESH_TOKEN_GENERATOR", "EXTRA_SERVER_KWARGS",
    "OAUTH2_SERVER_CLASS", "OIDC_SERVER_CLASS", "OAUTH2_VALIDATOR_CLASS", "OAUTH2_BACKEND_CLASS", "SCOPES",
    "DEFAULT_SCOPES", "SCOPES_BACKEND_CLASS", "READ_SCOPE", "WRITE_SCOPE", "AUTHORIZATION_CODE_EXPIRE_SECONDS",
    "ACCESS_TOKEN_EXPIRE_SECONDS", "ID_TOKEN_EXPIRE_SECONDS", "REFRESH_TOKEN_EXPIRE_SECONDS",
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS", "REFRESH_TOKEN_REUSE_PROTECTION", "ROTATE_REFRESH_TOKEN",
    "ERROR_RESPONSE_WITH_SCOPES", "APPLICATION_MODEL", "ACCESS_TOKEN_MODEL", "ID_TOKEN_MODEL", "GRANT_MODEL",
    "REFRESH_TOKEN_MODEL", "APPLICATION_ADMIN_CLASS", "ACCESS_TOKEN_ADMIN_CLASS", "GRANT_ADMIN_CLASS",
    "ID_TOKEN_ADMIN_CLASS", "REFRESH_TOKEN_ADMIN_CLASS", "REQUEST_APPROVAL_PROMPT", "ALLOWED_REDIRECT_URI_SCHEMES",
    "ALLOWED_SCHEMES", "ALLOW_URI_WILDCARDS", "OIDC_ENABLED", "OIDC_ISS_ENDPOINT", "OIDC_USERINFO_ENDPOINT",
    "OIDC_RSA_PRIVATE_KEY", "OIDC_RSA_PRIVATE_KEYS_INACTIVE", "OIDC_JWKS_MAX_AGE_SECONDS",
    "OIDC_RESPONSE_TYPES_SUPPORTED", "OIDC_SUBJECT_TYPES_SUPPORTED", "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED",
    "OIDC_RP_INITIATED_LOGOUT_*", "RESOURCE_SERVER_INTROSPECTION_URL", "RESOURCE_SERVER_AUTH_TOKEN",
    "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS", "RESOURCE_SERVER_TOKEN_CACHING_SECONDS",
    "AUTHENTICATION_SERVER_EXP_TIME_ZONE", "PKCE_REQUIRED", "ALWAYS_RELOAD_OAUTHLIB_CORE",
    "CLEAR_EXPIRED_TOKENS_BATCH_SIZE", "CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL",
]


def tables() -> list[list[list[str]]]:
    return markdown_tables(GUIDE)


def settings_table() -> list[list[str]]:
    [table] = [t for t in tables() if t[0][:2] == ["DOT setting", "`OAUTH_PROVIDER` setting"]]
    return table[1:]


def names(cell: str) -> list[str]:
    return re.findall(r"`([A-Z0-9_*]+)`", cell)


def test_every_dot_setting_has_a_row():
    listed = {name for row in settings_table() for name in names(row[0])}
    assert sorted(set(DOT_SETTINGS) - listed) == []


def test_every_setting_named_as_ours_exists_or_the_row_says_none():
    for dot_cell, ours, notes in settings_table():
        assert ours == "none" or (names(ours) and all(name in DEFAULTS for name in names(ours))), (dot_cell, ours)
        assert notes, dot_cell


def test_every_grant_type_the_import_knows_is_described():
    for grant in [*GRANT_MAP, *NO_EQUIVALENT]:
        assert f"`{grant}`" in GUIDE, grant


def test_every_option_the_guide_shows_exists():
    """Options of the import, and of the other commands the guide names (check --deploy, oauth_cleanup,
    oauth_create_client)."""
    from django.core.management import get_commands, load_command_class

    known = set()
    for name in ("oauth_import_dot_applications", "oauth_cleanup", "oauth_create_client", "check"):
        parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
        known |= {option for action in parser._actions for option in action.option_strings}
    shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", GUIDE))
    assert {"--rotate-later", "--dry-run", "--table", "--database", "--scope", "--no-pkce"} <= shown
    assert shown <= known, sorted(shown - known)


def test_the_readme_links_the_guide():
    readme = (ROOT / "README.md").read_text()
    assert "(docs/MIGRATING_FROM_DOT.md)" in readme
