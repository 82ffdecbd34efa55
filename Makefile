# `make book` builds the site into _build/html, `make test` runs every check (lint, unit and
# reference tests, nbval, strict build, browser test),
# `make execute` re-executes every chapter in place. Each sets up .venv first if missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=120

.PHONY: book test execute clean

$(READY): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(READY)

book: $(READY)
	$(BIN)/jupyter-book build . --all

test: $(READY)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests --ignore=tests/site
	$(BIN)/python -m pytest $(NBVAL) $(NOTEBOOKS)
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	@command -v chromium > /dev/null || command -v chromium-browser > /dev/null || \
	  echo "make test: no Chromium found (apt-get install chromium chromium-driver): the browser test is SKIPPED"
	$(BIN)/python -m pytest tests/site

execute: $(READY)
	for nb in $(NOTEBOOKS); do \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=300 --ExecutePreprocessor.record_timing=False \
	    --ExecutePreprocessor.kernel_name=python3 $$nb || exit 1; \
	done

clean:
	rm -rf _build
