"""The README's DPoP walkthrough, run as written against a live server with the demo's service client.

The Python block of "A walkthrough in Python" is taken from the README with a real Markdown parser; only
the demo's address (http://127.0.0.1:8000) is replaced by the live server's.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from markdown_it import MarkdownIt

from oauth_provider.models import Application

README = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()

pytestmark = pytest.mark.django_db(transaction=True)


def walkthrough() -> str:
    tokens = MarkdownIt().parse(README)
    start = next(i for i, t in enumerate(tokens) if t.type == "inline" and t.content == "A walkthrough in Python")
    return next(t.content for t in tokens[start:] if t.type == "fence" and t.info.strip() == "python")


def test_the_readme_dpop_walkthrough_runs(live_server, capsys):
    with override_settings(OAUTH_PROVIDER={**settings.OAUTH_PROVIDER, "ISSUER": live_server.url}):
        # The demo's confidential service client, as seed_demo makes it (its secret is public, in the README).
        service = Application(client_id="demo-service", name="Demo service", grant_types=["client_credentials"],
                              allowed_scopes="read", default_scopes="read")
        service.set_secret("demo-service-secret-not-for-production-0001")
        service.save()
        code = walkthrough().replace("http://127.0.0.1:8000", live_server.url)
        exec(compile(code, "README.md (DPoP walkthrough)", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert "'client_id': 'demo-service'" in printed[-2]
    assert printed[-1] == "401"
