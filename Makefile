# Two commands matter: `make demo` (run the example site) and `make test` (run every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
export DJANGO_SETTINGS_MODULE ?= tests.settings

.PHONY: install test test-unit test-integration lint schema demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Every test: unit tests (in-process), then the integration suite (real workers, Redis, PostgreSQL).
test: test-unit test-integration

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest tests/integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy user_tasks_graphql example_site

## The example site, embedded mode: SQLite, in-process worker, in-memory layers.
demo: $(STAMP)
	DJANGO_SETTINGS_MODULE=example_site.settings $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=example_site.settings $(PY) manage.py seed_demo
	DJANGO_SETTINGS_MODULE=example_site.settings $(PY) manage.py runserver 127.0.0.1:8000

bench: $(STAMP)
	$(PY) bench/run.py --quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
