"""The README documents every setting and every system check id."""

import re
from pathlib import Path

from oauth_provider.conf import DEFAULTS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_has_a_row_in_the_settings_table():
    missing = [name for name in DEFAULTS if f"| `{name}` |" not in README]
    assert missing == []


def test_every_check_id_is_documented():
    source = (Path(__file__).resolve().parent.parent / "oauth_provider" / "checks.py").read_text()
    ids = set(re.findall(r'id="(oauth_provider\.[EW]\d{3})"', source))
    assert ids and all(f"`{check_id}`" in README for check_id in ids)
