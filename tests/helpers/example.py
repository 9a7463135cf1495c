"""The example site's URLs, as its own tests use them (the ``seeded`` fixture is in tests/conftest.py)."""

from __future__ import annotations

from example_project import demo


def local(url: str) -> str:
    """A URL of the example site as a path the test client can request."""
    return url.removeprefix(demo.base_url())
