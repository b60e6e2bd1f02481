# audio-repro: one command per paper. Every target sets itself up (virtualenv, packages, and on
# Debian as root the Debian-packaged recordings the mini corpora are built from).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
REPRO := $(VENV)/bin/repro
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# Debian packages with the real recordings of shared/data_sources.md
APT_PACKAGES := asterisk-core-sounds-en-wav asterisk-core-sounds-fr-wav asterisk-core-sounds-it-wav \
	asterisk-moh-opsound-wav drascula-music openttd-opensfx ufoai-sound heroes-sound-effects

# Dataset roots given on the make command line reach the runner.
export MUSAN_ROOT GTZAN_ROOT URBANSOUND8K_ROOT TUT_SED_2016_ROOT SONYC_UST_ROOT TAU22_ROOT FUSS_ROOT \
	DESED_ROOT VGGISH_CHECKPOINT VGGISH_PCA REPRO_DATA_DIR REPRO_CACHE_DIR
# pytest workers: both cores by default
TEST_JOBS ?= auto

.PHONY: help setup python-env debian-audio test test-fast reproduce-all report check mini-data \
	clean-cache

help:
	@echo "make reproduce-swishnet   SwishNet (report 004) on the mini corpora, or on MUSAN_ROOT/GTZAN_ROOT"
	@echo "make reproduce-<paper>    drossos-sed, vggish-fusion, bcres2net-asc, fuss-desed"
	@echo "make reproduce-all        every implemented reproduction"
	@echo "make test                 the test suite"
	@echo "make report / check       regenerate results/*/REPORT.md / compare with the registry"
	@echo "make mini-data            build and validate every mini corpus"
	@echo "make setup                virtualenv + editable install (+ Debian recordings as root)"

setup: python-env debian-audio

python-env: $(STAMP)
	@echo "== packages: ready in $(VENV)"

# PYTHONWARNINGS silences setuptools' notices about editable installs and -qq pip's notices about
# this machine's package mirrors (not errors of ours; errors still print).
$(STAMP): setup.cfg pyproject.toml
	@echo "== packages: installing the pinned Python packages into $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@PYTHONWARNINGS=ignore $(PY) -m pip install -qq --upgrade pip
	@PYTHONWARNINGS=ignore $(PY) -m pip install -qq -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# Installs the recordings when running as root on Debian; otherwise prints the exact command.
debian-audio:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "== Debian recordings: installed"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "== Debian recordings: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
	  echo "The mini corpora need Debian-packaged recordings that are not installed:$$missing"; \
	  echo "Install them with:  sudo apt-get install -y --no-install-recommends$$missing"; \
	  echo "(or point MUSAN_ROOT / GTZAN_ROOT / ... at the real datasets)"; \
	fi

test: setup
	@set +e; $(PY) -m pytest -n $(TEST_JOBS) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

test-fast: setup
	$(PY) -m pytest -n $(TEST_JOBS) -m "not slow" $(PYTEST_ARGS)

# make reproduce-<paper with dashes>: `repro run <paper>` (reproduce-drossos-sed -> drossos_sed)
reproduce-%: setup
	@$(REPRO) run $(subst -,_,$*)

reproduce-all: setup
	@for p in $$($(REPRO) list --json | $(PY) -c "import json,sys; print(' '.join(r['paper'] for r in json.load(sys.stdin)['papers'] if r['implemented']))"); do \
	  echo "== $$p"; $(REPRO) run $$p || exit 1; done
	@$(REPRO) list | grep "not yet" | sed 's/^/skipped (not implemented yet): /' || true

report: python-env
	$(REPRO) report --all

check: python-env
	$(REPRO) check --all

mini-data: setup
	@for d in $$($(PY) -c "from data_prep.datasets import DATASETS; print(' '.join(DATASETS))"); do \
	  $(REPRO) prepare $$d --mini || exit 1; done

clean-cache:
	rm -rf cache
