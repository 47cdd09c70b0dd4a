# Pixelkeep: `make run` starts the local cloud, `make test` installs everything and runs every suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run reset test lint unit functional infra-test e2e bench synth clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m infra.localcloud

# The local cloud keeps its state in .localcloud/ between runs; this starts the next run empty.
reset:
	rm -rf .localcloud .localcloud.saving .localcloud.previous

lint: install
	$(PY) -m ruff check .

unit: install
	$(PY) -m pytest tests/unit

functional: install
	$(PY) -m pytest tests/functional

infra-test: install
	$(PY) -m pytest tests/infra

e2e: install
	$(PY) -m pytest tests/e2e

# Unit and functional tests spread over both cores; infra (one synth) and e2e (one local cloud)
# share expensive session fixtures, so they run in one process.
test: install lint
	$(PY) -m pytest tests/unit tests/domain tests/contract tests/functional -n 2
	$(PY) -m pytest tests/infra tests/e2e

bench: install
	$(PY) bench/coldstart.py

synth: install
	$(PY) -m infra.cdk.synth

clean:
	rm -rf $(VENV) infra/cdk.out .pytest_cache .ruff_cache
