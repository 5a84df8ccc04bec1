# `make run` and `make test` work on a fresh clone; everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
WEB_PORT := $(PORT)
export WEB_PORT
# The simulated acquirer (`make run`): its port and scenario (SIM_SPEED, SIM_RATE, SIM_SEED also apply).
SIM_PORT ?= 9100
SIM_SCENARIO ?= normal
export SIM_PORT SIM_SCENARIO

# make test: PostgreSQL and Redis on localhost (CI has them running).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# The suite keeps about one of 2 cores busy with 2 workers (subprocesses, browsers and
# sleeps wait): a third worker fills the idle time.
TEST_WORKERS ?= 3
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser || echo /usr/bin/chromium)

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.run-installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.run-installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.dev-installed ## Create .venv with the app and test dependencies

chromium: ## Install Debian's Chromium and a CJK font for the browser tests (never a browser download)
	@{ command -v chromium || command -v chromium-browser; } >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi wqy || { \
	  echo "installing Debian's chromium and fonts-wqy-microhei"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

compose-check: ## Validate docker-compose.yml with docker-compose config (the engine is not needed)
	@command -v docker-compose >/dev/null 2>&1 || { echo "installing Debian's docker-compose (for 'config' only)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }
	DJANGO_SECRET_KEY=check POSTGRES_PASSWORD=check docker-compose -f docker-compose.yml config -q

# make run serves plain http on a laptop: not the TLS shape, a key of its own in var/.
setup-run run: export DJANGO_SECURE ?= false
setup-run: $(VENV)/.run-installed
	mkdir -p var
	test -s var/secret_key || $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key
	rm -rf var/prometheus  # the metrics' per-process files of the last run
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py load_demo --poll-base-url http://127.0.0.1:$(SIM_PORT)
	$(PY) manage.py flag_delays

run: export DEMO_MODE ?= true
run: setup-run ## Set up and run the app with demo data (SQLite + SQLite broker unless DATABASE_URL / CELERY_BROKER_URL are set)
	@echo "Serving on http://127.0.0.1:$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	@echo "Simulated acquirer ($(SIM_SCENARIO)) on http://127.0.0.1:$(SIM_PORT)/; web, worker, beat and simulator below"
	$(PY) -m config.supervise -f Procfile.dev

SOAK_SECONDS ?= 300
soak: $(VENV)/.run-installed ## 5-minute mixed load on make run's embedded default (fresh var dir, spare ports), then checks it held
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) -m bench.soak --seconds $(SOAK_SECONDS)

lint: $(VENV)/.dev-installed ## ruff, Django checks, migrations up to date
	$(VENV)/bin/ruff check .
	DATABASE_URL=$(TEST_DATABASE_URL) DJANGO_DEBUG=true $(PY) manage.py check --fail-level WARNING
	DATABASE_URL=$(TEST_DATABASE_URL) DJANGO_DEBUG=true $(PY) manage.py makemigrations --check --dry-run

test: $(VENV)/.dev-installed chromium lint compose-check ## Set up and run the whole suite on PostgreSQL + Redis (localhost)
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) \
	  CHROMIUM_PATH=$(CHROMIUM) DJANGO_ALLOW_ASYNC_UNSAFE=true \
	  $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: $(VENV)/.dev-installed ## Run the benchmarks (PostgreSQL + Redis on localhost); prints figures and ratios
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL) DJANGO_SECURE=false \
	  DJANGO_SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') $(PY) -m bench

clean: ## Remove local runtime state (SQLite, broker folders); keeps .venv
	rm -rf var staticfiles

.PHONY: help install chromium compose-check setup-run run soak lint test bench clean
