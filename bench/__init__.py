"""The benchmark harness (``make bench``): gunicorn + PostgreSQL driven by wrk; see README "Performance"."""
