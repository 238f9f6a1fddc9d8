# The two commands from the README: `make demo` runs Pledge, `make test` passes its tests.
# Both build .venv first; the install step re-runs whenever pyproject.toml changes.

# Development mode unless the caller says otherwise: embedded defaults, no secrets needed.
export DEBUG ?= 1

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml bin/find-python
	@python=$$(bin/find-python) || exit 1; \
	  if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	    echo "Building $(VENV) with $$python"; rm -rf $(VENV); "$$python" -m venv $(VENV) || exit 1; \
	  fi
	$(PY) -m pip install --quiet --upgrade 'pip>=25.1'
	$(PY) -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt --group test
	@touch $(STAMP)

demo: venv
	$(PY) -m config.demo

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports

# The HTTP benchmarks drive gunicorn with wrk (Debian's package).
bench: venv
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk; } || \
	  { echo "The HTTP benchmarks need wrk: apt-get install -y wrk"; exit 1; }
	$(PY) -m bench $(BENCH)

clean:
	rm -rf $(VENV) var
