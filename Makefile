# A fresh machine needs two commands: `make demo` (the main job) and `make test`.
# Both install what they need: uv (into .tools/ when it is not on PATH), then the locked
# workspace into .venv/. No Docker needed: Kafka and MongoDB run as local child processes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
PROMTOOL := $(or $(shell command -v promtool 2>/dev/null),/usr/bin/promtool)
# Debian's Chromium: the portal's browser tests and the demo's screenshot (no browser download).
CHROMIUM := /usr/bin/chromium
export UV_PYTHON_DOWNLOADS := never
MEMBERS := $(wildcard shared/pyproject.toml services/*/pyproject.toml cli/pyproject.toml)

.PHONY: demo up test test-all test-faults lint bench schemas translations clean

# The development OpenID Connect provider (node-oidc-provider, locked): people sign in there.
IDP := deploy/dev-idp/node_modules/.package-lock.json

demo: .venv/.synced $(IDP) $(CHROMIUM)  ## the walking skeleton across three institutions, step by step
	.venv/bin/telemachus demo

up: .venv/.synced $(IDP)  ## a three-institution federation on local servers until Ctrl-C
	.venv/bin/telemachus up

test: .venv/.synced $(IDP) $(CHROMIUM)  ## the test suite (real local broker and store; prints which backend)
	.venv/bin/pytest

test-all: .venv/.synced $(IDP) $(CHROMIUM)  ## including tests marked slow
	.venv/bin/pytest -m ""

test-faults: .venv/.synced $(IDP)  ## the fault suite alone, longer than in `make test` (outages, kills, lost and stale events)
	TELEMACHUS_FAULT_KILLS=12 .venv/bin/pytest tests/faults -m ""

lint: .venv/.synced .tools/node/node_modules/@asyncapi/parser $(PROMTOOL)  ## ruff, mypy, the catalog's AsyncAPI, the alert rules
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	NODE_PATH=.tools/node/node_modules node deploy/validate/asyncapi.cjs docs/asyncapi.json
	$(PROMTOOL) check rules deploy/observability/alerts.yaml
	cd deploy/observability && $(PROMTOOL) test rules alerts.test.yaml
	.venv/bin/mypy shared/src services/*/src cli/src integrator/src integrator/tests benchmarks tests docs/integrators $(wildcard shared/tests services/*/tests)

bench: .venv/.synced $(IDP)  ## start-up, pipeline, enrolment flow, CSV import, HR push, pairing engines, circle formation, portal pages and e-mail, each against a baseline in the same run; ends with one table of every figure
	.venv/bin/python benchmarks/run_all.py

schemas: .venv/.synced  ## regenerate docs/events/*.schema.json and docs/asyncapi.json from the code
	.venv/bin/telemachus schemas --out docs/events

# Prometheus's own tool checks the alert rules and runs their unit tests (Debian's package;
# these machines run as root).
$(PROMTOOL):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus

# Chromium from Debian's archive (these machines run as root).
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

translations: .venv/.synced  ## extract the portal's and the e-mails' text, merge it into each language's catalog
	cd services/portal && ../../.venv/bin/pybabel extract -F babel.cfg -k N_ --no-location \
		--omit-header -o messages.pot src
	.venv/bin/pybabel update -i services/portal/messages.pot --ignore-obsolete --no-wrap \
		-d services/portal/src/telemachus/portal/translations
	cd services/identity && ../../.venv/bin/pybabel extract -F babel.cfg -k N_ --no-location \
		--omit-header -o messages.pot src
	.venv/bin/pybabel update -i services/identity/messages.pot --ignore-obsolete --no-wrap \
		-d services/identity/src/telemachus/identity/notifications/translations

# The AsyncAPI project's own parser checks the catalog (an implementation independent of ours).
.tools/node/node_modules/@asyncapi/parser:
	npm install --prefix .tools/node --no-audit --no-fund --loglevel=error @asyncapi/parser@3.6.3

$(IDP): deploy/dev-idp/package.json deploy/dev-idp/package-lock.json
	npm ci --prefix deploy/dev-idp --no-audit --no-fund --loglevel=error

# The machine's own pip installs uv into a venv without pip, when it can (5 s faster than
# bootstrapping pip into .tools first); otherwise .tools gets its own pip.
.tools/bin/uv:
	$(PYTHON) -m venv --without-pip .tools
	$(PYTHON) -m pip --python .tools/bin/python install --quiet uv==$(UV_VERSION) || \
	  ($(PYTHON) -m venv --clear .tools && .tools/bin/pip install --quiet uv==$(UV_VERSION))

.venv/.synced: uv.lock pyproject.toml $(MEMBERS) | $(UV)
	$(UV) sync --locked --all-packages --python $(PYTHON)
	# Compile pairing's matching kernels into numba's cache now, not at the first start
	# (a cache keyed by the kernels' content: another checkout of the same ones loads them).
	.venv/bin/telemachus kernels
	touch $@

clean:
	rm -rf .venv .tools .telemachus
