"""The home page's commands, copied and pasted into a real shell (bash, curl, python3) against the site."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import pytest
import requests

pytestmark = pytest.mark.timeout(60)


def shown_command(page: str, element_id: str) -> str:
    return html.unescape(re.search(rf'<pre id="{element_id}">(.+?)</pre>', page, re.S).group(1))


def test_home_page_api_commands_work_in_a_real_shell(site):
    if shutil.which("curl") is None or shutil.which("python3") is None:
        pytest.skip("curl or python3 is not on PATH")
    page = requests.get(site + "/", timeout=10, headers={"Connection": "close"}).text
    script = "\n".join(
        ["set -euo pipefail", shown_command(page, "curl-api-token"), shown_command(page, "curl-api-me")]
    )
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["client_id"] == "demo-service"
