# Pixelkeep: `make run` starts the local cloud, `make test` installs everything and runs every suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov pins boto3/botocore below ours: it gets its own virtualenv; the infra tests find it here.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
export PIXELKEEP_CHECKOV := $(abspath $(CHECKOV_VENV))/bin/checkov

.PHONY: install profiles run test lint unit functional infra-test e2e bench synth clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

install: $(STAMP) $(CHECKOV_STAMP)

# Each profile's TOML, validated and written out as the Python module a cold Lambda imports.
profiles: $(STAMP)
	$(PY) -m chalicelib.profile.compile

run: profiles
	$(PY) -m infra.localcloud

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
test: install profiles lint
	$(PY) -m pytest tests/unit tests/domain tests/contract tests/functional -n 2
	$(PY) -m pytest tests/infra tests/e2e

bench: profiles
	$(PY) bench/coldstart.py
	$(PY) bench/export.py
	$(PY) bench/erasure.py

synth: profiles
	$(PY) -m infra.cdk.synth

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) infra/cdk.out .pytest_cache .ruff_cache
