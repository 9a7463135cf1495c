# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
REQUIREMENTS ?= requirements/dev.txt
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
DEMO_ADDR ?= 127.0.0.1:8000

.PHONY: demo test test-sqlite test-postgres install lint migrations-check clean

$(VENV)/.installed: pyproject.toml requirements/*.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS) -e .
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Serving the example site on http://$(DEMO_ADDR)/ (Ctrl-C to stop)"
	$(PY) manage.py runserver $(DEMO_ADDR)

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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
