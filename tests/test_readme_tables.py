"""The README's tables parse as tables (markdown-it-py): every setting and every check id is a row."""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt

from oauth_provider.conf import DEFAULTS
from tests.helpers.markdown import tables as markdown_tables

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def tables() -> list[list[list[str]]]:
    return markdown_tables(README)


def first_cells_of_tables_headed(first_header: str) -> list[str]:
    return [row[0] for table in tables() if table[0][0] == first_header for row in table[1:]]


def test_every_setting_is_a_row_of_the_settings_table():
    rows = first_cells_of_tables_headed("setting")
    missing = [name for name in DEFAULTS if f"`{name}`" not in rows]
    assert missing == []


def test_every_check_id_is_a_row_of_the_checks_table():
    source = (ROOT / "oauth_provider" / "checks.py").read_text()
    ids = set(re.findall(r'id="(oauth_provider\.[EW]\d{3})"', source))
    rows = first_cells_of_tables_headed("id")
    assert ids and sorted(i for i in ids if f"`{i}`" not in rows) == []


def test_no_table_row_is_left_outside_a_table():
    """A row separated from its table by a blank line renders as a paragraph of pipes."""
    stray = [
        token.content
        for token in MarkdownIt("commonmark").enable("table").parse(README)
        if token.type == "inline" and token.content.startswith("| ")
    ]
    assert stray == []


def test_every_table_row_has_as_many_cells_as_its_header():
    for table in tables():
        assert all(len(row) == len(table[0]) for row in table), table[0]


def test_license_changelog_and_distribution_name():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "django-oauth2-authorization-server"
    assert project["license"] == {"text": "BSD-3-Clause"}
    assert (ROOT / "LICENSE").read_text().startswith("BSD 3-Clause License")
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## Unreleased" in changelog and "Semantic Versioning" in changelog
    assert f"pip install {project['name']}" in README
    assert "Semantic Versioning" in README


def test_readme_commands_run_through_the_venv_or_need_only_the_standard_library():
    """A bare `python manage.py` of the example site fails unless the venv is active."""
    assert "settings_resource_server python manage.py" not in README
    assert "settings_resource_server .venv/bin/python manage.py" in README
    assert "DEMO_ADDR" in README and "OAUTH_ISSUER" in README


def test_request_auth_attributes_are_documented():
    from oauth_provider.resource.validator import AccessTokenInfo

    documented = {row[0] for table in tables() if table[0][0] == "attribute" for row in table[1:]}
    public = {name for name in dir(AccessTokenInfo) if not name.startswith("_")}
    public |= set(AccessTokenInfo.__dataclass_fields__)
    names = {cell.strip("`").split("(")[0] for cell in documented}
    assert public - names == set()
