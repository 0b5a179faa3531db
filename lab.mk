# `make lab`: a virtual environment with the course's packages only (numpy, matplotlib,
# ipywidgets, JupyterLab and the course's dltrain), then JupyterLab on notebooks/. It installs with
# uv, fetched from the package index into that environment, or with pip where uv cannot be had.

PYTHON    ?= python3
LAB_VENV  ?= .venv
PORT      ?= 8888
NOTEBOOK_DIR ?= notebooks
LAB_ARGS  ?=
LAB_BIN   := $(LAB_VENV)/bin
LAB_STAMP := $(LAB_VENV)/.installed

.PHONY: lab lab-install

lab-install: $(LAB_STAMP)

# Reinstalled only when pyproject.toml changes. Each step says what it does and how long it took.
$(LAB_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; found " + sys.version.split()[0])'
	@set -e; start=$$(date +%s); \
	say() { echo "[$$(( $$(date +%s) - start )) s] $$*"; }; \
	echo "Setting up the course in $(LAB_VENV)/: numpy, matplotlib, ipywidgets, JupyterLab and dltrain."; \
	echo "The first time this downloads about 100 MB (half a minute on a fast connection); afterwards it takes seconds."; \
	export UV_PYTHON_DOWNLOADS=never; \
	uv=$$(command -v uv || true); \
	if [ ! -x $(LAB_BIN)/python ]; then \
	  say "creating $(LAB_VENV)/"; \
	  if [ -n "$$uv" ]; then "$$uv" venv --quiet --python "$$(command -v $(PYTHON))" $(LAB_VENV); \
	  else $(PYTHON) -m venv --without-pip $(LAB_VENV); fi; \
	fi; \
	if [ -z "$$uv" ] && [ -x $(LAB_BIN)/uv ]; then uv=$(LAB_BIN)/uv; fi; \
	if [ -z "$$uv" ]; then \
	  say "getting uv, a fast installer, from the package index"; \
	  if $(PYTHON) -m pip --python $(LAB_BIN)/python install --quiet --disable-pip-version-check uv 2>/dev/null || \
	     { $(LAB_BIN)/python -m ensurepip --default-pip >/dev/null && \
	       $(LAB_BIN)/python -m pip install --quiet --disable-pip-version-check uv; }; then \
	    uv=$(LAB_BIN)/uv; \
	  else say "uv is not available here: installing with pip instead (slower)"; fi; \
	fi; \
	if [ -n "$$uv" ]; then \
	  say "installing the course's packages with uv"; \
	  "$$uv" pip install --python $(LAB_BIN)/python --editable '.[lab]'; \
	else \
	  say "installing the course's packages with pip"; \
	  $(LAB_BIN)/python -m pip --version >/dev/null 2>&1 || $(LAB_BIN)/python -m ensurepip --default-pip; \
	  $(LAB_BIN)/python -m pip install --disable-pip-version-check --editable '.[lab]'; \
	fi; \
	touch $(LAB_STAMP); \
	say "set up: $(LAB_VENV)/ is ready"

# JupyterLab starts in notebooks/, so that its terminal does too; the terminal's shell is not a
# login shell, which would reset PATH, and PATH has the environment first: the terminal finds
# dltrain-validate. Jupyter's settings live in the environment, apart from any other Jupyter on
# the machine; JupyterLab neither asks about nor fetches news.
LAB_SETTINGS := $(LAB_VENV)/share/jupyter/lab/settings

lab: $(LAB_STAMP)
	@echo "Starting JupyterLab on $(NOTEBOOK_DIR)/ (a few seconds). Open the http://localhost:$(PORT)/lab?token=... address it prints."
	@echo "To validate a notebook: save it, then in JupyterLab's terminal run  dltrain-validate 00_inputs/00_inputs.ipynb"
	@mkdir -p $(LAB_SETTINGS) && printf '%s\n' \
	  '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' \
	  > $(LAB_SETTINGS)/overrides.json
	@cd $(NOTEBOOK_DIR) && env PATH="$(abspath $(LAB_BIN)):$$PATH" \
	  JUPYTER_DATA_DIR="$(abspath $(LAB_VENV))/share/jupyter" \
	  JUPYTER_CONFIG_DIR="$(abspath $(LAB_VENV))/etc/jupyter-user" \
	  "$(abspath $(LAB_BIN))/jupyter" lab --ServerApp.root_dir=. --ServerApp.port=$(PORT) \
	  --ServerApp.port_retries=0 --no-browser --LabApp.news_url=None \
	  --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	  "--ServerApp.terminado_settings=shell_command=$${SHELL:-sh}" \
	  $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)
