# Two commands for a fresh machine:  make run   (setup + load the embedded synthetic trial)
#                                    make test  (the test suite)
SHELL := /bin/bash
export DAGSTER_HOME := $(abspath dagster_home)
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: setup browser run test ui daemon bench clean

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --user --quiet uv
	uv sync --frozen --compile-bytecode  # once here: 'uv run' would compile all 11,000 files on every call (1 s)
	uv run --frozen python -m compileall -q pipeline assets schemas benchmarks  # ours too: with PYTHONDONTWRITEBYTECODE set (as on this machine) they were compiled at every start (0.2-0.4 s)

run: setup
	uv run trialwh load

# Debian's Chromium for the browser tests (the UI launch of issue 7, the report, Data Docs): installed
# where it is missing and apt-get can run (root: CI, containers); elsewhere those tests are skipped
# with the install instruction as their reason. Playwright's own browser download does not work here.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser tests (apt-get)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >/dev/null \
	    || echo "WARNING: chromium could not be installed; the browser tests will be skipped"; \
	else echo "NOTE: no /usr/bin/chromium and no root apt-get: the browser tests will be skipped (apt-get install -y chromium)"; fi

test: setup browser  # two workers, one test file each at a time (a file's shared loads stay in one worker)
	uv run pytest -q -n 2 --dist loadfile

ui: setup
	uv run dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

daemon: setup  # schedule + landing sensor + failure and killed-loads sensors, without the UI
	uv run dagster-daemon run -w workspace.yaml

# scale benchmark: 1,000 / 10,000 / 100,000 synthetic subjects -> benchmarks/results.md
# (SIZES="1000 10000" to choose; work files in benchmarks/.work)
SIZES ?= 1000 10000 100000
bench: setup
	uv run python -m benchmarks.bench --sizes $(SIZES)

clean:
	rm -rf warehouse dagster_home/storage dagster_home/history dagster_home/schedules dagster_home/.logs_queue dagster_home/.telemetry
