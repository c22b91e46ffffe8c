# backtrack — two commands for a newcomer:
#   make lab    open the tracker (JupyterLab on notebooks/01-log.ipynb, 127.0.0.1, token)
#   make test   run every test (lint, unit, property, process, notebook and browser tests)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8888
APP_PORT ?= 8866
# The log: --csv / BACKTRACK_CSV / data/backtrack.csv. Kernels start in notebooks/, so
# pass the project's data/ folder as an absolute path.
export BACKTRACK_CSV ?= $(CURDIR)/data/backtrack.csv

.PHONY: lab app test lint chromium bench figures clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Re-install when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

# Privacy: this JupyterLab never fetches news or checks for updates (the server side is
# off, and this venv's settings default stops the "get news?" prompt).
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_SETTINGS): | $(BIN)/python
	mkdir -p $(dir $@)
	echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > $@

lab: $(VENV)/.installed-run $(LAB_SETTINGS)
	@echo "Your log: $$BACKTRACK_CSV (demo data is shown until you save your first day)"
	@token=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))'); \
	echo "Open this address in your browser (it carries a one-time token):"; \
	echo "    http://127.0.0.1:$(PORT)/lab/tree/01-log.ipynb?token=$$token"; \
	JUPYTER_TOKEN=$$token exec $(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 \
	  --ServerApp.port=$(PORT) --ServerApp.port_retries=0 --ServerApp.root_dir=notebooks \
	  --ServerApp.open_browser=False $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) \
	  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	  notebooks/01-log.ipynb

# Voila prints the address with its one-time token (--Voila.auto_token).
app: $(VENV)/.installed-run
	@echo "Your log: $$BACKTRACK_CSV (demo data is shown until you save your first day)"
	$(BIN)/voila notebooks/01-log.ipynb --no-browser --port=$(APP_PORT) --Voila.ip=127.0.0.1 \
	  --Voila.auto_token=True \
	  --MappingKernelManager.cull_idle_timeout=300 --MappingKernelManager.cull_interval=60

# Debian's chromium for the browser tests: installed when missing and we are root (CI);
# otherwise the browser tests skip and say why.
chromium:
	@bash tests/ensure-chromium.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(VENV)/.installed-test chromium lint
	$(BIN)/python -m pytest --nbval-lax -p no:cacheprovider

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/append.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/plots.py
	$(BIN)/python bench/cohort.py

# The README's pictures of the trend chart and the report, from demo data (needs pdftoppm:
# Debian's poppler-utils, installed here when missing and we are root).
figures: $(VENV)/.installed-run
	@command -v pdftoppm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q poppler-utils >/dev/null; }
	$(BIN)/python docs/make_figures.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
