"""Exit 0 when the PostgreSQL server named by the URL in argv[1] accepts a connection, else 1."""

import sys
from urllib.parse import urlsplit


def main() -> int:
    url = urlsplit(sys.argv[1] if len(sys.argv) > 1 else "")
    if not url.scheme.startswith("postgres"):
        return 1
    try:
        import psycopg
    except ImportError:
        print("psycopg is not installed", file=sys.stderr)
        return 1
    try:
        with psycopg.connect(
            host=url.hostname or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password,
            dbname=(url.path or "/postgres").lstrip("/") or "postgres",
            connect_timeout=3,
        ):
            return 0
    except Exception as exc:
        print(f"PostgreSQL unavailable: {exc.__class__.__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
