# backtrack — two commands for a newcomer:
#   make lab    open the tracker (the logging form, JupyterLab one click away; 127.0.0.1, token)
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

.PHONY: lab app rotate-token service test lint chromium libreoffice fonts bench figures clean

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

# The tracker (backtrack/serve.py says why it is built this way): the address printed opens
# the logging form ready to use (Voila, served by the same JupyterLab server), with
# JupyterLab one click away at /lab. The token is kept in ~/.local/state/backtrack/token
# (0600; $$BACKTRACK_STATE_DIR overrides the folder) so a bookmark keeps working;
# `make rotate-token` changes it. Notebooks the server saves are stripped of outputs first.
lab: $(VENV)/.installed-run $(LAB_SETTINGS)
	@exec $(BIN)/python -m backtrack.serve lab --port $(PORT) --root notebooks

# The form alone (no JupyterLab, no terminals) on 127.0.0.1:$(APP_PORT). LAN=1 serves the form
# and nothing else (backtrack/lan.py) to the home network for a phone, on the one address it
# prints: HTTPS with a self-signed certificate made on first use, its own token
# (lan-token in the state folder), a warning and a QR code of the address.
app: $(VENV)/.installed-run
	@exec $(BIN)/python -m backtrack.serve app --port $(APP_PORT) --root notebooks $(if $(LAN),--lan)

# New tokens for both: the lab's and app's (token) and the phone's (lan-token).
rotate-token: $(VENV)/.installed-run
	@$(BIN)/python -m backtrack.serve rotate-token

# Start the tracker at login (a systemd user unit; README "Start at login").
service: $(VENV)/.installed-run
	@$(BIN)/backtrack service install --port $(PORT)

# Debian's chromium for the browser tests: installed when missing and we are root (CI);
# otherwise the browser tests skip and say why.
chromium:
	@bash tests/ensure-chromium.sh

# Debian's LibreOffice Calc (headless) for repair's round trip against real saves:
# installed when missing and we are root (CI); otherwise that test skips and says why.
libreoffice:
	@bash tests/ensure-libreoffice.sh

# Noto Sans CJK for the report test of Japanese notes (tests/test_fonts.py): installed
# when missing and we are root (CI); otherwise that test skips and says why.
fonts:
	@bash tests/ensure-fonts.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(VENV)/.installed-test chromium libreoffice fonts lint
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
	$(BIN)/python bench/trial.py

# The README's pictures of the trend chart and the report, from demo data (needs pdftoppm:
# Debian's poppler-utils, installed here when missing and we are root).
figures: $(VENV)/.installed-run
	@command -v pdftoppm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q poppler-utils >/dev/null; }
	$(BIN)/python docs/make_figures.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
