# orbax-migration-lab: `make lab` to learn, `make test` to check everything.
# Needs only python3 (3.11+); everything else is installed into .venv from pinned versions.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
LAB_PORT ?= 8888
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: setup lab lint test test-unit test-notebooks test-browser chromium sync refresh lock html colab-links bench bench-quick clean

setup: $(STAMP)

# Rebuilt whenever the pins change. requirements.lock freezes the whole tree so that a new
# release of an indirect dependency cannot change a stored notebook output.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)" % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	@touch $@

lab: $(STAMP)
	@echo "Opening JupyterLab on http://127.0.0.1:$(LAB_PORT) (the URL with its token follows)."
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(LAB_PORT) --ServerApp.root_dir=notebooks $(AS_ROOT)

test: lint test-unit test-notebooks test-browser

# pyflakes, import order, pycodestyle errors and bugbear (configured in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .

test-unit: $(STAMP)
	$(PY) -m pytest tests --ignore=tests/browser

# Real JupyterLab + headless Debian Chromium (never a downloaded browser), network blocked.
test-browser: $(STAMP) chromium
	$(PY) -m pytest tests/browser

CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium at $(CHROMIUM): install it (Debian/Ubuntu: sudo apt-get install chromium) or run make with CHROMIUM=/path/to/chromium" >&2; exit 1; \
	  fi; }

test-notebooks: $(STAMP)
	$(PY) -m pytest $(NBVAL) notebooks

sync: $(STAMP)
	$(VENV)/bin/jupytext --sync md_sources/*.md

# The one supported way to update stored outputs: execute every notebook (or NB=notebooks/x.ipynb).
refresh: $(STAMP) sync
	$(PY) tools/refresh_notebooks.py $(NB)

# A static site of every executed notebook in site/, readable with no network.
html: $(STAMP)
	$(PY) tools/build_site.py site

# Checkpoint throughput and blocking time against the disk, notebook and view costs.
bench: $(STAMP)
	$(PY) benchmarks/run_all.py

bench-quick: $(STAMP)
	$(PY) benchmarks/run_all.py --quick

# After changing [tool.orbax-migration-lab] in pyproject.toml: every Colab badge and install cell.
colab-links: $(STAMP)
	$(PY) tools/colab_links.py
	$(VENV)/bin/jupytext --sync md_sources/*.md

lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable --disable-pip-version-check | sort -f > requirements.lock

clean:
	rm -rf site artifacts .pytest_cache
