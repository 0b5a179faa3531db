# Training Deep Networks: one command per task, from a fresh clone with only python3 (3.10+).
# Two virtual environments, each created or refreshed by the targets that need it, and only when
# pyproject.toml changed:
#   .venv-lab/  the student's JupyterLab (make lab): the course's packages only, no instructor
#               tools, so JupyterLab shows the course and nothing else;
#   .venv/      the instructor's tools (make test, demo, release, ...): nbgrader, pytest, ...

PYTHON   ?= python3
VENV     ?= .venv
LAB_VENV ?= .venv-lab
PORT     ?= 8888
JOBS     ?= auto
DIST     ?= student-edition
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed

.DEFAULT_GOAL := help

# make lab and make lab-install; the student edition's Makefile is this same file
include lab.mk

# Isolate Jupyter from the user's own kernels and config: the course's kernel is the venv's python3.
export JUPYTER_DATA_DIR := $(abspath $(VENV))/share/jupyter
export JUPYTER_CONFIG_DIR := $(abspath $(VENV))/etc/jupyter-user
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help lab demo test test-fast release bench bench-course lint sandbox browser student-dist \
        clean venv

help:
	@echo "make lab           students: set up .venv-lab/ and open JupyterLab on notebooks/"
	@echo "make demo          instructors: release, then grade the bundled sample submissions"
	@echo "make test          everything CI checks (unit, notebooks, release, grading, browser)"
	@echo "make test-fast     the tier without kernels (catalogue in process, unit tests): ~1 min"
	@echo "make release       regenerate notebooks/ from solutions/"
	@echo "make student-dist  write the student edition (no solutions, no grader) to $(DIST)/"
	@echo "make bench         grading throughput figures"
	@echo "make bench-course  run every solution notebook and print its time (target: 20 s each)"
	@echo "make lint          ruff over helpers/, grader/ and tests/"
	@echo "make sandbox       install bubblewrap for sandboxed grading (as root, with apt-get)"
	@echo "make browser       install Chromium for the browser tests (as root, with apt-get)"

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

# The browser tests drive the system's Chromium with Playwright. Installed when this machine lets
# us (root with apt-get); otherwise tests/test_browser.py fails and says how to install it.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (browser tests; about a minute)"; \
	    for attempt in 1 2 3; do \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=180 \
	        chromium >/dev/null 2>&1 && break; \
	      echo "  attempt $$attempt failed; refreshing the package lists and retrying"; \
	      apt-get update -qq -o DPkg::Lock::Timeout=180 >/dev/null 2>&1; sleep 5; \
	    done; \
	    command -v chromium >/dev/null 2>&1 || \
	      echo "WARNING: chromium could not be installed with apt-get; the browser tests will FAIL."; \
	  else \
	    echo "WARNING: chromium is not installed and cannot be installed here; the browser tests will FAIL."; \
	    echo "         Install it with your package manager, e.g. 'sudo apt-get install chromium'."; \
	  fi; }

demo: $(STAMP) sandbox
	$(BIN)/python -m grader release
	$(BIN)/python -m grader demo --out demo-output --jobs $(JOBS)

release: $(STAMP)
	$(BIN)/python -m grader release

# The browser tests open the student's JupyterLab (.venv-lab) in Chromium.
test: $(STAMP) sandbox browser lab-install
	$(BIN)/python -m pytest -n auto --dist loadfile --nbval-lax tests solutions

# The tier without kernels, browser or nbgrader runs: the catalogue judged in process, unit tests.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadgroup -m "not kernel" tests

bench: $(STAMP) sandbox
	$(BIN)/python -m grader bench

bench-course: $(STAMP)
	$(BIN)/python -m grader bench-course

student-dist: $(STAMP)
	$(BIN)/python -m grader dist $(DIST) --force

lint: $(STAMP)
	$(BIN)/ruff check helpers grader tests

clean:
	rm -rf $(VENV) $(LAB_VENV) demo-output test-artifacts $(DIST) .pytest_cache .hypothesis
