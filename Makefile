# The README's two commands: `make run` and `make test`. Everything else is a helper of theirs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Two test processes: the suite is mostly waiting on browsers, workers and servers, and CI runs it three times.
PYTEST_ARGS ?= -n 2

.PHONY: run test install install-dev lint typecheck format chromium axe bench screenshots clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Re-install only when pyproject.toml changed (the stamp files are newer otherwise).
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

.env:
	$(PYTHON) scripts/write_env.py

run: install .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	./scripts/serve.sh

chromium:
	./scripts/ensure_chromium.sh

# axe-core for the browser tests' accessibility checks, from the npm registry (package-lock.json pins it).
node_modules/.installed: package.json package-lock.json
	./scripts/ensure_axe.sh

axe: node_modules/.installed

lint: install-dev typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy with django-stubs over the product code (configured in pyproject.toml). The stubs' plugin imports the real
# settings: DEBUG=1 lets them load without a SECRET_KEY, and no database is opened.
typecheck: install-dev
	DEBUG=1 $(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: install-dev chromium axe lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Browser journeys that write PNGs into docs/screenshots/ (the README shows them).
screenshots: install-dev chromium axe
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(VENV)/bin/pytest tests/e2e/test_generation_journeys.py tests/e2e/test_admin_journey.py tests/e2e/test_edit_journeys.py tests/e2e/test_passage_journey.py tests/e2e/test_small_screens.py -q -p no:cacheprovider

# Benchmarks: figures and ratios printed as a table and written as JSON (the README records the latest).
bench: install-dev
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache staticfiles node_modules
