# Two commands matter: `make demo` (run the example site) and `make test` (run every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# how uvicorn serves websockets here and in the tests (example_site/serving.py says why)
UVICORN_WS := --ws websockets-sansio --ws-per-message-deflate false
export DJANGO_SETTINGS_MODULE ?= tests.settings
# The real-process suites' PostgreSQL, Redis and RabbitMQ. Under CI (`CI` set) they are these defaults,
# the services CI runs. Elsewhere only the URLs you give (here, on the command line or in the environment,
# or the TEST_* and DATABASE_URL variables the suites read) are used: the suites start a throwaway
# PostgreSQL and Redis for the others (tests/servers.py), and skip the RabbitMQ runs without one.
INTEGRATION_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/test)
INTEGRATION_REDIS_URL ?= redis://127.0.0.1:6379/14
INTEGRATION_LAYER_URL ?= redis://127.0.0.1:6379/13
# the worker tests run once with each broker; the suite creates this vhost if it is missing
INTEGRATION_AMQP_URL ?= amqp://guest:guest@127.0.0.1:5672/user-tasks-tests
# $(call service,VARIABLE,NAME): NAME=$(VARIABLE) under CI or when VARIABLE was given, else nothing
service = $(if $(or $(CI),$(filter-out undefined default file automatic,$(origin $1))),$2=$($1))

.PHONY: install test test-unit test-reliability test-integration lint schema contract demo demo-worker bench bench-full clean spa-types package docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,docs]'
	touch $(STAMP)

JS_CLIENTS := tests/js/node_modules/.installed
$(JS_CLIENTS): tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund --silent
	touch $(JS_CLIENTS)

FRONTEND := example_site/frontend
SPA_PACKAGES := $(FRONTEND)/node_modules/.installed
$(SPA_PACKAGES): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	npm ci --prefix $(FRONTEND) --no-audit --no-fund --silent
	touch $(SPA_PACKAGES)

SPA := $(FRONTEND)/dist/.vite/manifest.json
SPA_SOURCES := $(wildcard $(FRONTEND)/src/* $(FRONTEND)/src/gql/*) $(FRONTEND)/vite.config.ts $(FRONTEND)/tsconfig.json
$(SPA): $(SPA_PACKAGES) $(SPA_SOURCES)
	npm run --prefix $(FRONTEND) build --silent

## The SPA's GraphQL types: the example site's schema beside it, then the code generated from it (both committed).
EXAMPLE_SCHEMA := example_site.demo.schema.schema
spa-types: $(STAMP) $(SPA_PACKAGES)
	$(PY) manage.py export_user_tasks_schema $(FRONTEND)/schema.graphql --schema $(EXAMPLE_SCHEMA)
	npm run --prefix $(FRONTEND) codegen --silent

install: $(STAMP) $(JS_CLIENTS) $(SPA)

## Every test: unit tests (in-process), then the integration suite (real workers, Redis, PostgreSQL).
test: test-unit test-reliability test-integration

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

# Redis pub/sub ignores database numbers: the prefix keeps the tests' events to themselves.
SERVICES := $(call service,INTEGRATION_DATABASE_URL,DATABASE_URL) \
	$(call service,INTEGRATION_REDIS_URL,TEST_CELERY_BROKER_URL) \
	$(call service,INTEGRATION_REDIS_URL,TEST_CELERY_RESULT_BACKEND) \
	$(call service,INTEGRATION_LAYER_URL,TEST_CHANNEL_REDIS_URL) $(call service,INTEGRATION_AMQP_URL,TEST_AMQP_URL) \
	CHANNEL_LAYER_PREFIX=$(or $(CHANNEL_LAYER_PREFIX),user-tasks-tests)
# the plugin that starts the throwaway servers (before Django reads the settings, so they use them)
SERVERS := -p tests.servers

test-integration: $(STAMP) $(JS_CLIENTS) $(SPA)
	$(SERVICES) $(PY) -m pytest $(SERVERS) tests/integration

## Faults, fuzzing, abuse and load against real processes (also run by `make test`).
test-reliability: $(STAMP) $(JS_CLIENTS)
	$(SERVICES) $(PY) -m pytest $(SERVERS) tests/reliability

lint: $(STAMP) $(SPA_PACKAGES)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy user_tasks_graphql example_site bench
	@# the SPA: its copy of the schema and the types generated from it are current, and it type-checks
	mkdir -p build
	$(PY) manage.py export_user_tasks_schema build/example-schema.graphql --schema $(EXAMPLE_SCHEMA)
	diff -u $(FRONTEND)/schema.graphql build/example-schema.graphql || (echo "stale: run make spa-types" >&2; exit 1)
	npm run --prefix $(FRONTEND) check --silent || (echo "stale types or type errors: run make spa-types" >&2; exit 1)

## schema.graphql: the library schema's SDL (committed; a test fails when it is stale).
schema: $(STAMP)
	$(PY) manage.py export_user_tasks_schema schema.graphql

## Compare the library schema and the example site's schema with the API contract clients rely on.
CONTRACT ?= ../shared/reference/api-contract.graphql
contract: $(STAMP)
	mkdir -p build
	$(PY) manage.py export_user_tasks_schema build/example-schema.graphql --schema example_site.demo.schema.schema
	$(PY) ../shared/tools/contract_check.py $(CONTRACT) schema.graphql
	$(PY) ../shared/tools/contract_check.py $(CONTRACT) build/example-schema.graphql --example

## The documentation site in site/ (mkdocs.yml): every page of docs/, the API reference rendered from
## schema.graphql and bench/RESULTS.md; --strict fails on a broken link or anchor.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## The sdist and the wheel in dist/, checked (twine, their contents and metadata), then installed in a
## new virtualenv outside the tree for a smoke test of a throwaway project (packaging/check.sh).
package: $(STAMP)
	PY=$(PY) bash packaging/check.sh

## The example site. Embedded mode by default (SQLite, in-process worker, in-memory layers);
## with DATABASE_URL and REDIS_URL set it uses them (run `make demo-worker` beside it).
DEMO_PORT ?= 8000
demo: $(STAMP) $(SPA)
	DJANGO_SETTINGS_MODULE=example_site.settings $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=example_site.settings $(PY) manage.py seed_demo
	@echo "Open http://127.0.0.1:$(DEMO_PORT)/ and log in as demo / demo"
	DJANGO_SETTINGS_MODULE=example_site.settings $(BIN)/uvicorn example_site.asgi:application \
		--host 127.0.0.1 --port $(DEMO_PORT) $(UVICORN_WS)

demo-worker: $(STAMP)
	DJANGO_SETTINGS_MODULE=example_site.settings $(BIN)/celery -A example_site.celery:app worker -l info

$(VENV)/.bench-installed: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

## Benchmarks against the alternatives, side by side, on PostgreSQL (DATABASE_URL, or the local
## default the integration suite uses) and Redis.
bench: $(VENV)/.bench-installed
	DATABASE_URL=$(INTEGRATION_DATABASE_URL) DJANGO_SETTINGS_MODULE=bench.settings $(PY) bench/run.py --quick

bench-full: $(VENV)/.bench-installed
	DATABASE_URL=$(INTEGRATION_DATABASE_URL) DJANGO_SETTINGS_MODULE=bench.settings $(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
