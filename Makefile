# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Tests and CI read the boundaries from the shared local mirror (no internet needed).
GEO_APP_BOUNDARY_SOURCE ?= $(abspath ../shared/data/wilayah_boundaries)

.PHONY: install install-test system-deps assets translations compile-translations run test test-postgis lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(MAKE) --no-print-directory compile-translations assets

# Debian packages the tests need: Chromium and its driver (browser tests), PostgreSQL with PostGIS
# (storage tests on a second database), npm (front-end assets) and wrk (HTTP benchmark). Installed
# with apt-get only when one is missing; needs root (or run the printed command with sudo).
DEB_PACKAGES := chromium chromium-driver postgresql postgresql-15-postgis-3 npm wrk
system-deps:
	@missing=""; \
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || missing="$$missing chromium chromium-driver"; \
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; \
	ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing="$$missing postgresql-15-postgis-3"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing; run: sudo apt-get update && sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

install-test: system-deps $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(MAKE) --no-print-directory compile-translations assets

# gettext catalogs (Flask-Babel): the msgids are the Indonesian texts marked in geo_app/ and templates/
# (babel.cfg); English is translations/en/LC_MESSAGES/messages.po, in the repository. The .mo files are
# compiled here (git-ignored; create_app also compiles a missing or stale one). `make translations`
# extracts the msgids again and merges them into the .po: fill each new empty msgstr, then commit.
BABEL_KEYWORDS := -k NP_:1c,2 -k msg -k msg_as:2
compile-translations: $(BIN)/python
	$(BIN)/pybabel -q compile -d translations
translations: $(BIN)/python
	@mkdir -p build
	$(BIN)/pybabel -q extract -F babel.cfg $(BABEL_KEYWORDS) --add-location=file --sort-output \
	  --project=geo-app --msgid-bugs-address="" -o build/messages.pot .
	$(BIN)/pybabel -q update -i build/messages.pot -d translations -l en --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date -w 116 \
	  --init-missing
	@$(BIN)/python -c "from babel.messages.pofile import read_po; c = read_po(open('translations/en/LC_MESSAGES/messages.po', 'rb')); \
	  todo = [m.id for m in c if m.id and not m.string]; print(f'{len(todo)} msgid(s) without English') ; [print('  ', repr(i)) for i in todo]"

# Front-end files without an XStatic package on PyPI come from npm into $(NPM_ASSETS) (git-ignored);
# the list lives in geo_app/maps/assets.py. Skipped when that exact list is already installed.
NPM_ASSETS ?= build/npm-assets
assets:
	@command -v npm >/dev/null || { echo "npm is needed for the front-end assets (apt-get install -y npm)" >&2; exit 1; }
	@specs="$$($(BIN)/geo-app assets npm-specs)"; \
	if [ "$$(cat $(NPM_ASSETS)/.installed 2>/dev/null)" != "$$specs" ]; then \
	  npm install --prefix $(NPM_ASSETS) --no-save --no-audit --no-fund --ignore-scripts --legacy-peer-deps --loglevel=error $$specs \
	  && echo "$$specs" > $(NPM_ASSETS)/.installed; \
	fi
	@$(BIN)/geo-app assets check --quiet --npm-dir $(NPM_ASSETS)

# Starts the service on http://127.0.0.1:5000 with SQLite under instance/, served by gunicorn
# (GEO_APP_WORKERS processes; `geo-app serve --dev` is Werkzeug's development server instead);
# fetches and imports the boundaries on first start (from GEO_APP_BOUNDARY_SOURCE if set, else upstream).
run: install
	$(BIN)/geo-app serve

# ruff lint and format check (settings in pyproject.toml); .ci/run runs it before the tests
lint: install-test
	$(BIN)/ruff check geo_app tests scripts
	$(BIN)/ruff format --check geo_app tests scripts

test: install-test
	GEO_APP_BOUNDARY_SOURCE="$(GEO_APP_BOUNDARY_SOURCE)" $(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite on PostgreSQL/PostGIS: needs a server and GEO_APP_TEST_POSTGRES_URL (a role that may create
# databases) and PostGIS in template1 (.ci/run sets all three up). Every test gets a database of its own.
test-postgis: install-test
	@test -n "$$GEO_APP_TEST_POSTGRES_URL" || { echo "set GEO_APP_TEST_POSTGRES_URL (see .ci/run)" >&2; exit 1; }
	GEO_APP_TEST_DATABASE=postgresql GEO_APP_BOUNDARY_SOURCE="$(GEO_APP_BOUNDARY_SOURCE)" $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance build *.egg-info
