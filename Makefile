# The two commands of README: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup test-setup lint check pytest clean lock bench-realtime bench-shell bench-media bench-dialin

run: setup
	$(BIN)/companion serve

test: test-setup lint pytest

# A virtualenv with exactly the versions in requirements.lock (what the suite last passed with),
# then Companion itself on top without resolving anything again; redone when either file changes.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# Browser tests drive Debian's Chromium (never a browser a test tool downloads) and use two npm
# packages (axe-core, socket.io-client) that run inside the tests only.
test-setup: setup
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Chromium first: sudo apt-get install -y chromium" >&2; exit 1; fi; }
	cd tests/browser && npm ci --no-audit --no-fund --silent
	@# The dial-in test's phone network: Janus's SIP plugin (the line), Kamailio (a stand-in
	@# trunk) and baresip (the caller's phone), all Debian's; it runs them in a private namespace.
	@# espeak-ng records the line's prompts (companion dialin-prompts).
	@command -v janus >/dev/null && command -v kamailio >/dev/null && command -v baresip >/dev/null \
	  && command -v espeak-ng >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq janus kamailio baresip-core espeak-ng >/dev/null; \
	  else echo "Install the dial-in test's parts first: sudo apt-get install -y janus kamailio baresip-core espeak-ng" >&2; exit 1; fi; }

lint: setup
	$(BIN)/ruff check companion tests bench
	$(BIN)/mypy
	$(BIN)/bandit --quiet --severity-level medium -r companion
	$(BIN)/lint-imports --no-cache

# Everything but the browser tests on both cores (tests/conftest.py gives each worker its own
# database); then the browser tests in one process: they share demo servers and the demo
# staff's one-time codes.
PYTEST_WORKERS ?= 2
pytest: setup
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not browser"
	$(BIN)/pytest -m browser

# The realtime benchmark of issue 4 (docs/benchmarks.md): the real server under 600 clients in
# 50 rooms, and the Node reference in the same run. C, R, RATE, DURATION, MODES, LOGIN,
# DATABASE_URL: see bench/realtime/run.sh.
bench-realtime: setup
	bench/realtime/run.sh

# Issue 6's media benchmark (docs/benchmarks.md): our media worker and Janus (Debian's janus,
# installed if missing; needs root for a private network namespace), the same aiortc load.
# Options: make bench-media ARGS="--cases audio,video --duration 20 --rounds 2".
bench-media: setup
	bench/media/run.sh $(ARGS)

# Issue 17's: a phone leg's CPU beside a WebRTC participant's (docs/benchmarks.md).
bench-dialin: setup
	$(BIN)/python bench/dialin_bench.py --callers 6 --duration 20

# Refresh requirements.lock from pyproject.toml's ranges (then run `make test` before committing it).
lock: setup
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --upgrade --extra test --strip-extras --no-emit-index-url \
	  --no-emit-find-links --output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) tests/browser/node_modules .pytest_cache .mypy_cache .ruff_cache
