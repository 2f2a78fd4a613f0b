# orbax-migration-lab: `make lab` to learn, `make test` to check everything.
# Needs only python3 (3.11+); everything else is installed into .venv from pinned versions.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# nbval as every notebook check runs it; no notebook uses hypothesis, whose plugin costs ~1 s a start.
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:hypothesispytest
LAB_PORT ?= 8888
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
# The classroom (make classroom): room size, public port, its pins and proxy.
LEARNERS ?= 5
PORT ?= 8000
CLASSROOM_STAMP := $(VENV)/.classroom-installed
CHP := classroom/node_modules/.bin/configurable-http-proxy

.PHONY: setup lab lint test test-unit test-notebooks test-browser chromium sync myst refresh lock docs test-colab colab-links bench bench-quick clean classroom test-classroom node

setup: $(STAMP)

# Rebuilt whenever the pins change. requirements.lock freezes the whole tree so that a new
# release of an indirect dependency cannot change a stored notebook output.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)" % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test,docs]'
	@touch $@

lab: $(STAMP)
	@echo "Opening JupyterLab on http://127.0.0.1:$(LAB_PORT) (the URL with its token follows)."
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(LAB_PORT) --ServerApp.root_dir=notebooks $(AS_ROOT)

test: lint test-unit test-notebooks docs test-browser test-classroom test-colab

# pyflakes, import order, pycodestyle errors and bugbear (configured in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .

test-unit: $(STAMP)
	$(PY) -m pytest tests --ignore=tests/browser --ignore=tests/classroom --ignore=tests/colab

# Real JupyterLab + headless Debian Chromium (never a downloaded browser), network blocked.
test-browser: $(STAMP) chromium $(CLASSROOM_STAMP) $(CHP)
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

# Colab, as close as it gets here: wheel + sdist built, a fresh Python 3.12 venv with an older
# JAX/Flax/Orbax stack and a stand-in google.colab, notebooks 00, 01 and 11 copied out of the
# repository and run with nbclient from their install cell (tests/colab/). Needs python3.12.
test-colab: $(STAMP)
	$(PY) -m pytest tests/colab -x

# One kernel per notebook, as many notebooks at once as there are cores (pytest-xdist; all the
# cells of a notebook stay on one worker, in order). NB_WORKERS=0 runs them one by one.
NB_WORKERS ?= auto
test-notebooks: $(STAMP)
	$(PY) -m pytest $(NBVAL) -n $(NB_WORKERS) --dist loadfile notebooks

sync: $(STAMP)
	$(VENV)/bin/jupytext --sync md_sources/*.md

# Sources to MyST Markdown (what jupytext.toml pairs); re-runnable: converts only what is not MyST yet.
myst: $(STAMP)
	$(PY) tools/to_myst.py
	$(VENV)/bin/jupytext --sync md_sources/*.md

# The one supported way to update stored outputs: execute every notebook (or NB=notebooks/x.ipynb).
refresh: $(STAMP) sync
	$(PY) tools/refresh_notebooks.py $(NB)

# The docs site in site/html (Sphinx + myst-nb, docs/conf.py): README's content and every
# notebook with its stored outputs, nothing executed, readable with no network. Warnings are
# errors. (myst-nb keeps its own copies next to the output folder, in site/jupyter_execute.)
docs: $(STAMP)
	rm -rf site
	$(VENV)/bin/sphinx-build -q -W --keep-going -c docs . site/html
	@echo "site/html/index.html"

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

# One JupyterHub on 127.0.0.1 for a room of learners (classroom/; run as root: it creates the
# Unix accounts). Ctrl-C stops it and every server in it.

$(CLASSROOM_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test,classroom]'
	@touch $@

# configurable-http-proxy, pinned in classroom/package-lock.json, installed into classroom/.
$(CHP): classroom/package.json classroom/package-lock.json
	@$(MAKE) --no-print-directory node
	cd classroom && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node:
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's nodejs and npm for the classroom's proxy"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else \
	    echo "The classroom needs Node.js and npm: install them (Debian/Ubuntu: sudo apt-get install nodejs npm)" >&2; exit 1; \
	  fi; }

classroom: $(CLASSROOM_STAMP) $(CHP)
	@$(PY) -m classroom.start --learners '$(LEARNERS)' --port '$(PORT)'

# A small room driven over HTTP + websockets (tests/classroom); in make test.
test-classroom: $(CLASSROOM_STAMP) $(CHP)
	$(PY) -m pytest tests/classroom

clean:
	rm -rf site artifacts .pytest_cache
