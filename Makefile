# make book    — install, execute every chapter with papermill at SCALE (default small), build _build/html
# make test    — install, pytest on symlib + every notebook at scale ci under nbval, strict ci book build
# make browser-test [BOOK_HTML=_build/html] — every page of a built book in headless Chromium, network off
#               (installs Debian's chromium and chromium-driver when missing and run as root)
# make zoo SCALE=small      — build (or resume, or grow with MEMBERS=N) the named CIFAR-10 zoo the zoo chapters read
# make reproduce SCALE=small — build the zoos <SCALE> and (once its chapter is in the book) metanet_<SCALE>, recompute results/<SCALE>/ ;  make paper — the same at paper scale (a GPU box)
# make publish — push the built book to the gh-pages branch (GitHub Pages)
# make clean-cache — empty the store of trained members ($SYMLIB_MEMBERS, default members/; not results/, not the zoo)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
STAMP := $(VENV)/.installed
SCALE ?= small
MEMBERS ?=
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONHASHSEED := 0
ifdef SYMLIB_DATA
export SYMLIB_DATA := $(abspath $(SYMLIB_DATA))
endif

.PHONY: book test ci-book browser-test browser zoo reproduce paper ledger publish clean clean-cache install

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -c "import torch, torchvision, ray, symlib; print('installed torch', torch.__version__, 'torchvision', torchvision.__version__, 'ray', ray.__version__)"
	touch $@

# Stage a book source tree in $(1): config, markdown, executed notebooks (papermill, $(2) = extra args), ledger.
define stage_book
	rm -rf $(1) && mkdir -p $(1)/book
	cp _config.yml _toc.yml $(1)/
	cp book/*.md $(1)/book/ && cp -r book/_static $(1)/book/
	for nb in $(NOTEBOOKS); do $(PY) -m symlib.notebook $$nb $(1)/$$nb $(2); done
	$(PY) -m symlib.ledger > $(1)/book/ledger.md
endef

book: $(STAMP)
	$(call stage_book,_build/src,-p scale $(SCALE) --quiet)
	$(VENV)/bin/jupyter-book build _build/src --path-output . --builder html --quiet
	@echo "The book is in _build/html/index.html"

# CI: unit tests, then every notebook at scale ci under nbval (results and the ci zoos in a scratch folder), then the
# ci book with warnings as errors
test: $(STAMP)
	rm -rf _build/ci && mkdir -p _build/ci/nbval
	SYMLIB_ZOO=$(CURDIR)/_build/ci/zoo SYMLIB_RESULTS=$(CURDIR)/_build/ci/results $(PY) -m symlib.zoo build ci
	SYMLIB_ZOO=$(CURDIR)/_build/ci/zoo SYMLIB_RESULTS=$(CURDIR)/_build/ci/results $(PY) -m symlib.zoo build metanet_ci
	for nb in $(NOTEBOOKS); do \
	  $(PY) -m symlib.notebook $$nb _build/ci/nbval/$$(basename $$nb) --prepare-only -p scale ci -p recompute true; \
	done
	SYMLIB_ZOO=$(CURDIR)/_build/ci/zoo SYMLIB_RESULTS=$(CURDIR)/_build/ci/results SYMLIB_MEMBERS=off \
	  $(PY) -m pytest tests _build/ci/nbval --nbval-lax --nbval-current-env -p no:cacheprovider
	SYMLIB_ZOO=$(CURDIR)/_build/ci/zoo SYMLIB_RESULTS=$(CURDIR)/_build/ci/results $(MAKE) --no-print-directory ci-book

ci-book:
	$(call stage_book,_build/ci/src,-p scale ci --quiet)
	$(VENV)/bin/jupyter-book build _build/ci/src --path-output _build/ci --builder html --warningiserror --keep-going

# The built book in a real browser (tests/test_browser.py): Selenium drives Debian's chromium through its own
# chromedriver (/usr/bin/chromedriver; nothing is downloaded at run time).
BOOK_HTML ?= _build/html
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium and chromium-driver"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else \
	    echo "browser-test needs Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver" >&2; \
	    exit 1; \
	  fi; \
	fi

browser-test: $(STAMP) browser
	SYMLIB_BOOK_HTML=$(abspath $(BOOK_HTML)) SYMLIB_BROWSER_TEST=required \
	  $(PY) -m pytest tests/test_browser.py -p no:cacheprovider -q

zoo: $(STAMP)
	$(PY) -m symlib.zoo build $(SCALE) $(if $(MEMBERS),--members $(MEMBERS))

reproduce: $(STAMP)
	mkdir -p _build/reproduce
	$(PY) -m symlib.zoo build $(SCALE)
	$(if $(filter book/metanetworks.ipynb,$(NOTEBOOKS)),$(PY) -m symlib.zoo build metanet_$(SCALE),@echo "metanet_$(SCALE) not built: the metanetwork chapter is a draft (book/drafts/README.md)")
	for nb in $(NOTEBOOKS); do \
	  start=$$(date +%s); \
	  $(PY) -m symlib.notebook $$nb _build/reproduce/$$(basename $$nb) -p scale $(SCALE) -p recompute true; \
	  echo "  $$nb at $(SCALE): $$(( $$(date +%s) - start )) s"; \
	done

paper:
	$(MAKE) reproduce SCALE=paper

ledger: $(STAMP)
	$(PY) -m symlib.ledger

publish: book
	$(VENV)/bin/ghp-import --no-jekyll --push --force _build/html

clean:
	rm -rf _build

# The trained members that chapters' runs keep so that a re-run trains only what is missing (symlib.store)
clean-cache:
	$(PY) -m symlib.store clean
