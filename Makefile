# Pixelkeep: `make run` starts the local cloud, `make test` installs everything and runs every suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov pins boto3/botocore below ours: it gets its own virtualenv; the infra tests find it here.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
export PIXELKEEP_CHECKOV := $(abspath $(CHECKOV_VENV))/bin/checkov

.PHONY: install browser profiles run drift reset test lint unit functional infra-test e2e fuzz bench synth clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

# The browser journeys drive Debian's Chromium (Playwright's own browser download is not used).
CHROMIUM ?= /usr/bin/chromium

install: $(STAMP) $(CHECKOV_STAMP) browser

browser:
	@test -x $(CHROMIUM) || command -v chromium >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Each profile's TOML, validated and written out as the Python module a cold Lambda imports.
profiles: $(STAMP)
	$(PY) -m chalicelib.profile.compile

run: profiles
	$(PY) -m infra.localcloud

# The drift check (OPS-8) against the running local cloud: every setting that differs from the profile.
drift: profiles
	$(PY) -m infra.drift

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
test: install profiles lint
	$(PY) -m pytest tests/unit tests/domain tests/contract tests/functional -n 2
	$(PY) -m pytest tests/infra tests/e2e

# Schemathesis against a local cloud with a larger budget than make test's.
fuzz: install profiles
	PIXELKEEP_FUZZ_EXAMPLES=100 PIXELKEEP_FUZZ_SECONDS=900 $(PY) -m pytest tests/e2e/test_api_fuzz_local_cloud.py

bench: profiles
	$(PY) bench/coldstart.py
	$(PY) bench/export.py
	$(PY) bench/erasure.py

synth: profiles
	$(PY) -m infra.cdk.synth

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) infra/cdk.out .pytest_cache .ruff_cache test-output
