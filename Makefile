# Two commands for everyone: `make lab` (work through the lessons) and `make test` (check everything).
# Every target creates the virtual environment .venv on first use.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# nbgrader runs `alembic` as a program: the environment's bin folder must come first on PATH.
RUN := PATH="$(CURDIR)/$(BIN):$$PATH"
# Tests read the data sets from a local mirror when one sits beside the repository (CI does this).
MIRROR := $(wildcard $(CURDIR)/../shared/data)
export COURSE_DATA_MIRROR ?= $(MIRROR)

.PHONY: setup lab formgrader test lessons workbooks site clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed: install python3.11 (Debian/Ubuntu: apt install python3.11 python3.11-venv), or run make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# JupyterLab refuses to run as root without --allow-root (containers, CI).
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(RUN) $(BIN)/jupyter lab $(LAB_FLAGS) lessons/

# For instructors: JupyterLab on the whole course, where nbgrader's formgrader finds nbgrader_config.py.
formgrader: setup
	$(RUN) $(BIN)/jupyter lab $(LAB_FLAGS) .

test: setup
	$(RUN) $(BIN)/python -m pytest $(PYTEST_ARGS)

lessons: setup
	$(RUN) $(BIN)/python -m grader release

# Needs LibreOffice (libreoffice-calc-nogui): it computes the values the spreadsheets carry.
workbooks: setup
	$(RUN) $(BIN)/python -m workbooks

# The course website in _site/ (git-ignored): every lesson run once with the reference answers.
site: setup
	$(RUN) $(BIN)/python -m grader site _site

clean:
	rm -rf $(VENV) graded artifacts _site .pytest_cache
