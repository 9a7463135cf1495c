# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
REQUIREMENTS ?= requirements/dev.txt
# What the example site needs (Django, DRF, PyJWT, cryptography, django-environ): `make demo` installs only this.
DEMO_REQUIREMENTS ?= requirements/base.txt
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
DEMO_ADDR ?= 127.0.0.1:8000
# The benchmark's own database, dropped and created again on every run.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/oauth_bench
BENCH_TIMEOUT ?= 1800

.PHONY: demo test test-sqlite test-postgres install install-demo lint migrations-check clean bench bench-scale bench-tools

# Everything (runtime + tests + lint): `make test` and `make install`. It includes the demo's part.
$(VENV)/.installed: pyproject.toml requirements/*.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS) -e .
	touch $@ $(VENV)/.installed-demo

# Only what the example site needs; skipped when the full install is already there.
$(VENV)/.installed-demo: pyproject.toml requirements/base.txt requirements/libs.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(DEMO_REQUIREMENTS) -e .
	touch $@

install: $(VENV)/.installed

install-demo: $(VENV)/.installed-demo

# scripts/demo.py migrates, seeds and serves on DEMO_ADDR, with the issuer http://$(DEMO_ADDR)
# (unless OAUTH_ISSUER is set), so every link, redirect and the metadata follow the address.
demo: install-demo
	$(PY) scripts/demo.py $(DEMO_ADDR)

# The whole suite on SQLite, then again on PostgreSQL when one answers.
test: install
	$(MAKE) --no-print-directory test-sqlite
	@if $(PY) scripts/pg_available.py "$${DATABASE_URL:-$(PG_URL)}"; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "PostgreSQL not reachable at $${DATABASE_URL:-$(PG_URL)}: PostgreSQL run SKIPPED (SQLite run passed)."; \
	fi

test-sqlite: install
	@echo "== test suite on SQLite =="
	DATABASE_URL=sqlite:///:memory: $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install
	@echo "== test suite on PostgreSQL =="
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

# The benchmark (README "Performance"): gunicorn + PostgreSQL on 127.0.0.1, driven by wrk.
bench: install bench-tools
	@$(PY) scripts/pg_available.py "$(dir $(BENCH_DATABASE_URL))postgres" || \
		{ echo "make bench needs PostgreSQL at $(BENCH_DATABASE_URL)"; exit 1; }
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) timeout --kill-after=30 $(BENCH_TIMEOUT) $(PY) -m bench.run

# The same, plus cases 2 and 4 on 1,000,000-row token tables and the clean-up command.
bench-scale:
	BENCH_SCALE=1 $(MAKE) --no-print-directory bench

# wrk from Debian's packages, gunicorn from requirements/example.txt, each only when missing.
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get install -y wrk || { $$SUDO apt-get update && $$SUDO apt-get install -y wrk; }; }
	@$(PY) -c "import gunicorn, psycopg" 2>/dev/null || \
		$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/example.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
