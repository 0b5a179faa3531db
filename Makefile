# Training Deep Networks: one command per task, from a fresh clone with only python3 (3.10+).
# Every target below creates or refreshes .venv itself, and only when pyproject.toml changed.

PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8888
JOBS   ?= auto
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Isolate Jupyter from the user's own kernels and config: the course's kernel is the venv's python3.
export JUPYTER_DATA_DIR := $(abspath $(VENV))/share/jupyter
export JUPYTER_CONFIG_DIR := $(abspath $(VENV))/etc/jupyter-user
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help lab demo test release bench lint sandbox clean venv

help:
	@echo "make lab      students: set up and open JupyterLab on notebooks/"
	@echo "make demo     instructors: release, then grade the bundled sample submissions"
	@echo "make test     everything CI checks (unit tests, notebooks, release, grading)"
	@echo "make release  regenerate notebooks/ from solutions/"
	@echo "make bench    grading throughput figures"
	@echo "make lint     ruff over helpers/, grader/ and tests/"
	@echo "make sandbox  install bubblewrap for sandboxed grading (as root, with apt-get)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	@touch $(STAMP)

# bubblewrap sandboxes each submission's kernel while grading. Installed when this machine lets us
# (root with apt-get), with retries (another apt may hold the lock); where it should be installable
# but is not, this fails, so that `make test` never passes with the sandbox tests skipped.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap (grading sandbox)"; \
	    for attempt in 1 2 3; do \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=180 \
	        bubblewrap >/dev/null 2>&1 && break; \
	      echo "  attempt $$attempt failed; refreshing the package lists and retrying"; \
	      apt-get update -qq -o DPkg::Lock::Timeout=180 >/dev/null 2>&1; sleep 5; \
	    done; \
	    command -v bwrap >/dev/null 2>&1 || { \
	      echo "ERROR: bubblewrap could not be installed with apt-get; grading would run"; \
	      echo "       UNSANDBOXED. Fix the package manager and run make again."; exit 1; }; \
	  else \
	    echo "WARNING: bubblewrap (bwrap) is not installed and cannot be installed here; grading will run UNSANDBOXED."; \
	    echo "         Install it with your package manager, e.g. 'sudo apt-get install bubblewrap'."; \
	  fi; }

lab: $(STAMP)
	@echo "JupyterLab on notebooks/ at http://localhost:$(PORT)/lab (the full URL with its token follows)"
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.port=$(PORT) --ServerApp.port_retries=0 \
	  --no-browser $(if $(filter 0,$(shell id -u)),--allow-root,)

demo: $(STAMP) sandbox
	$(BIN)/python -m grader release
	$(BIN)/python -m grader demo --out demo-output --jobs $(JOBS)

release: $(STAMP)
	$(BIN)/python -m grader release

test: $(STAMP) sandbox
	$(BIN)/python -m pytest -n auto --dist loadfile --nbval-lax tests solutions

bench: $(STAMP) sandbox
	$(BIN)/python -m grader bench

lint: $(STAMP)
	$(BIN)/ruff check helpers grader tests

clean:
	rm -rf $(VENV) demo-output .pytest_cache .hypothesis
