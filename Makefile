# The instructor's commands: `make lab` (work on the lessons), `make test` (check everything),
# `make lessons` (release solutions/ into lessons/), `make outputs` (store the figures nbval checks),
# `make edition` (the folder students get).
# Every target creates the virtual environment .venv on first use.

# Python versions the course runs on (pyproject.toml's requires-python); CI tests the first.
PYTHONS := 3.11 3.12 3.13 3.14
PYTHON ?= $(firstword $(foreach v,$(PYTHONS),$(shell command -v python$(v) 2>/dev/null)) python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# nbgrader runs `alembic` as a program: the environment's bin folder must come first on PATH.
RUN := PATH="$(CURDIR)/$(BIN):$$PATH"
# Tests read the data sets from a local mirror when one sits beside the repository (CI does this).
MIRROR := $(wildcard $(CURDIR)/../shared/data)
export COURSE_DATA_MIRROR ?= $(MIRROR)

# JupyterLab reads the course's settings in jupyter/ (no question about Jupyter news on first start).
LAB_ENV := JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}"

.PHONY: setup lab formgrader test lessons outputs workbooks site edition clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] not in "$(PYTHONS)".split())' 2>/dev/null || { \
	  echo "The course needs one of Python $(PYTHONS) (found: $(PYTHON)). Install one (Debian/Ubuntu: apt install python3.11 python3.11-venv)"; \
	  echo "or choose it: make PYTHON=/path/to/python3.12"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# JupyterLab refuses to run as root without --allow-root (containers, CI).
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(RUN) $(LAB_ENV) $(BIN)/jupyter lab $(LAB_FLAGS) lessons/

# For instructors: JupyterLab on the whole course, where nbgrader's formgrader finds nbgrader_config.py.
formgrader: setup
	$(RUN) $(LAB_ENV) $(BIN)/jupyter lab $(LAB_FLAGS) .

test: setup
	$(RUN) $(BIN)/python -m pytest $(PYTEST_ARGS)

lessons: setup
	$(RUN) $(BIN)/python -m grader release

# Runs every solution notebook through nbval and stores in solutions/ the outputs of the cells tagged
# nbval-check-output (the figures the prose quotes), which the tests compare every run with; clears the rest.
# `make outputs LESSONS="01_backprop 05_weight_decay"` refreshes only those.
outputs: setup
	$(RUN) $(BIN)/python -m tests.support.notebooks $(LESSONS)

# Needs LibreOffice (libreoffice-calc-nogui): it computes the values the spreadsheets carry.
workbooks: setup
	$(RUN) $(BIN)/python -m workbooks

# The course website in _site/ (git-ignored): every lesson run once with the reference answers.
site: setup
	$(RUN) $(BIN)/python -m grader site _site

# The student edition, rebuilt from the current lessons/ (git-ignored); EDITION_FLAGS=--git makes it a repository.
edition: setup
	$(RUN) $(BIN)/python -m grader edition edition $(EDITION_FLAGS)

clean:
	rm -rf $(VENV) graded artifacts _site edition .pytest_cache
