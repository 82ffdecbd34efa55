# make book      build the site into _build/html, strictly (a warning fails the build)
# make test      every check, stopping at the first failure: ruff; the tests of goodhart and its
#                doctests (in parallel); nbval over every chapter (in parallel, one notebook a
#                worker); the strict build (beside those two, its log shown after them); the
#                HTML checks and the browser test (tests/site)
# make execute   re-execute every chapter in place, two at a time, without timing metadata
#                (one chapter: make execute NOTEBOOKS=book/theorem1.ipynb)
# make pdf       the whole book as a PDF (_build/latex/book.pdf), then the site again, which
#                now carries the PDF and a download button
# make lock      regenerate requirements.lock from requirements.txt in a clean virtualenv
# make drift     the latest releases of the direct dependencies (.venv-latest), against the lock
# make test-portability   nbval with numpy's SIMD dispatch lowered and OpenBLAS on one thread
# make times     execute every chapter, print its time beside the target, update the CSV
# Each target sets up .venv first if it is missing or older than the requirements.
SHELL  := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.installed
NOTEBOOKS ?= $(sort $(wildcard book/*.ipynb))
# pytest-xdist workers: one a core
JOBS   ?= auto
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
          --nbval-cell-timeout=120 --nbval-kernel-startup-timeout=180
STRICT := -W -n --keep-going
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider
# Where no notebook is tested: nbval's import of nbformat costs each pytest process 1.7 s (its
# JSON-schema checker builds an RFC 3987 grammar on import)
NO_NBVAL := -p no:nbval

.PHONY: book test lint unit nbval site execute pdf lock drift check-lock test-portability times \
        clean
.NOTPARALLEL:

# A fresh virtualenv whenever the requirements change, so that it holds exactly the lock.
$(READY): requirements.txt requirements.lock pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock \
	  pip setuptools
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt \
	  -c requirements.lock
	touch $(READY)

book: $(READY)
	$(BIN)/jupyter-book build . --all $(STRICT)

# The strict build reads only the committed notebooks, so it runs beside the unit tests and
# nbval: one process, where they leave a core idle at times (about 25 s of the wall time).
test: lint
	@mkdir -p _build
	@$(MAKE) --no-print-directory book > _build/book.log 2>&1 & build=$$!; \
	  $(MAKE) --no-print-directory unit nbval; tests=$$?; \
	  wait $$build; built=$$?; echo "--- the strict build (make book):"; cat _build/book.log; \
	  [ $$tests -eq 0 ] && [ $$built -eq 0 ]
	@$(MAKE) --no-print-directory site

lint: $(READY)
	$(BIN)/ruff check .

# Unit, property and reference tests, and the doctests of the package, on every core.
unit: $(READY)
	MPLBACKEND=Agg $(PYTEST) $(NO_NBVAL) -n $(JOBS) --hypothesis-profile=ci tests \
	  --ignore=tests/site --doctest-modules src/goodhart

# One notebook a worker (--dist loadfile keeps the cells of a notebook together and in order).
# No MPLBACKEND here: the kernels must keep matplotlib's inline backend.
nbval: $(READY)
	$(PYTEST) -n $(JOBS) --dist loadfile $(NBVAL) $(NOTEBOOKS)

# One page a worker at a time (tests/site/conftest.py), so that each loads it once a width.
site: $(READY)
	@command -v chromium > /dev/null || command -v chromium-browser > /dev/null || \
	  command -v google-chrome > /dev/null || \
	  echo "make test: no Chromium found (apt-get install chromium chromium-driver):" \
	       "the browser test is SKIPPED; the HTML checks still run"
	$(PYTEST) $(NO_NBVAL) -n $(JOBS) tests/site

# The scorecard reads the other chapters' glued results: it runs after them.
EXECUTE := $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
  --ExecutePreprocessor.timeout=300 --ExecutePreprocessor.record_timing=False \
  --ExecutePreprocessor.kernel_name=python3
execute: $(READY)
	printf '%s\n' $(filter-out book/scorecard.ipynb,$(NOTEBOOKS)) | xargs -P 2 -I{} $(EXECUTE) {}
	$(if $(filter book/scorecard.ipynb,$(NOTEBOOKS)),$(EXECUTE) book/scorecard.ipynb)

pdf: $(READY)
	$(BIN)/jupyter-book build . --all --builder pdflatex
	$(BIN)/jupyter-book build . --all $(STRICT)

# Regenerate the lock: a clean virtualenv installed from requirements.txt alone, frozen.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	version=$$(.lock-venv/bin/python -c 'import platform; print(platform.python_version())'); \
	{ echo "# Every package that requirements.txt installs, pinned: a clean"; \
	  echo "# virtualenv (Python $$version, Linux) installed from requirements.txt,"; \
	  echo "# then pip freeze. Regenerate it with 'make lock' after changing"; \
	  echo "# requirements.txt; do not edit it by hand. make, CI and Binder install"; \
	  echo "# requirements.txt constrained by this file (pip install -c)."; \
	  .lock-venv/bin/python -m pip freeze --all --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf .lock-venv

# The latest releases of the direct dependencies, in .venv-latest, and how far they are from
# the lock (the weekly drift workflow then runs `make test VENV=.venv-latest`).
drift:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	sed -E 's/^([A-Za-z0-9_.-]+)==[^ ;#]*/\1/' requirements.txt > .venv-latest/requirements.txt
	.venv-latest/bin/python -m pip install --quiet --disable-pip-version-check --upgrade \
	  -r .venv-latest/requirements.txt
	touch .venv-latest/.installed
	.venv-latest/bin/python .ci/drift.py

# The virtualenv holds exactly the lock (CI runs this before the tests).
check-lock: $(READY)
	diff <(grep -v '^#' requirements.lock) \
	  <($(BIN)/python -m pip freeze --all --exclude-editable --disable-pip-version-check)

test-portability: $(READY)
	$(BIN)/python tests/portability.py $(NOTEBOOKS)

times: $(READY)
	$(BIN)/python benchmarks/chapter_times.py

clean:
	rm -rf _build
