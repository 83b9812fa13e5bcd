# 数字技术工程师培育项目管理系统 — developer commands. `make help` lists them.
# Every target does its own set-up: a fresh machine needs only Python 3 and the system package
# manager (Debian's apt-get for the optional browser, PDF and reverse-proxy packages).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install only when pyproject.toml changes (or the venv is new).
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL := $(or $(TRAINING_TEST_POSTGRES_URL),postgresql://postgres@127.0.0.1:5432/postgres)
# The PostgreSQL run needs only the suites that touch the database; unit tests run once.
PG_TEST_DIRS := tests/services tests/web tests/crash
PYTEST := $(BIN)/python -m pytest
PYTEST_ARGS ?= -q
POT := build/messages.pot

# Install Debian packages when a command is missing: $(1) = command that proves presence,
# $(2) = packages. Only root can install; anyone else is told what will be skipped and why.
define apt_install
if $(1) >/dev/null 2>&1; then \
  echo "present: $(2)"; \
elif [ "$$(id -u)" != 0 ]; then \
  echo "not installed: $(2) (not root; run 'sudo make $@'); the tests that need them skip themselves"; \
elif ! command -v apt-get >/dev/null 2>&1; then \
  echo "not installed: $(2) (no apt-get on this machine); the tests that need them skip themselves"; \
else \
  export DEBIAN_FRONTEND=noninteractive; \
  apt-get install -y -q --no-install-recommends $(2) \
    || { apt-get update -q && apt-get install -y -q --no-install-recommends $(2); }; \
fi
endef

# Reachability of the PostgreSQL used by the tests; prints the reason when it is not reachable.
define PG_PROBE
import asyncio, sys
import asyncpg
async def probe(url):
    conn = await asyncpg.connect(url, timeout=5)
    await conn.close()
try:
    asyncio.run(probe(sys.argv[1]))
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}".strip() + f" ({sys.argv[1].rpartition('@')[2]})")
    sys.exit(1)
endef
export PG_PROBE

# One line per database and a total, read from the JUnit reports the two runs write.
define TEST_SUMMARY
import sys, xml.etree.ElementTree as ET
from pathlib import Path
total = [0, 0, 0]
for name in sys.argv[1:]:
    path = Path(f"test-output/junit-{name}.xml")
    if not path.exists():
        print(f"{name}: no report (no tests, or the run did not finish)")
        continue
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    tests = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    passed = tests - failed - skipped
    for i, n in enumerate((passed, failed, skipped)):
        total[i] += n
    print(f"{name}: {passed} passed, {failed} failed, {skipped} skipped")
print(f"total: {total[0]} passed, {total[1]} failed, {total[2]} skipped")
endef
export TEST_SUMMARY

.PHONY: help venv install run serve migrate demo test test-sqlite test-browser test-postgres test-summary lint browser-deps \
        pdf-deps proxy-deps system-deps bench bench-deps messages clean distclean

help: ## List the targets
	@echo "数字技术工程师培育项目管理系统 — make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "python3 -m venv failed; installing Debian's python3-venv"; \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv \
	      || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; }; \
	  else echo "install python3-venv (sudo apt-get install python3-venv) and retry"; exit 1; fi; \
	  $(PYTHON) -m venv $(VENV); }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the project with its test tools (only when pyproject.toml changed)

install: venv ## Same as venv

migrate: venv ## Bring the database (TRAINING_DATABASE_URL, default var/training.sqlite3) up to date
	$(BIN)/training migrate

demo: migrate ## Load the demo province (idempotent) and print the demo logins
	$(BIN)/training demo

run: migrate ## Migrate, load the demo if the database is empty, print the logins and serve http://127.0.0.1:8000
	$(BIN)/training demo --if-empty
	@echo "正在启动 (serving) http://$(HOST):$(PORT)/ — 用上面的演示账户登录 (sign in with a demo login above); Ctrl-C 停止"
	$(BIN)/training serve --no-migrate --host $(HOST) --port $(PORT)

serve: migrate ## Serve without loading the demo
	$(BIN)/training serve --no-migrate --host $(HOST) --port $(PORT)

lint: venv ## ruff over the code, the tests and the benchmarks
	$(BIN)/ruff check training tests bench

browser-deps: ## Install Debian's chromium for the browser tests (root only; needed once)
	@$(call apt_install,command -v chromium,chromium)

pdf-deps: ## Install LibreOffice (Writer, no GUI), Noto CJK fonts and poppler-utils for PDF output
	@$(call apt_install,command -v soffice,libreoffice-writer-nogui fonts-noto-cjk)
	@$(call apt_install,dpkg -s fonts-noto-cjk,fonts-noto-cjk)
	@$(call apt_install,command -v pdftotext,poppler-utils)

proxy-deps: ## Install Debian's nginx-light (used by deploy/smoke)
	@$(call apt_install,command -v nginx,nginx-light)

system-deps: browser-deps pdf-deps proxy-deps bench-deps ## Every optional Debian package the tests use

test: venv lint ## ruff, then the suite on SQLite, the browser journeys, and the database suites on PostgreSQL
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then $(MAKE) browser-deps; fi
	@rm -f test-output/junit-*.xml
	@# Every run always happens, so each one's result is visible; any failing fails the target.
	@status=0; $(MAKE) test-sqlite || status=1; $(MAKE) test-browser || status=1; $(MAKE) test-postgres || status=1; \
	$(MAKE) test-summary; \
	if [ $$status != 0 ]; then echo "make test: FAILED (see the runs above)"; fi; exit $$status

test-summary: ## Passed/failed/skipped per run of the last make test (from test-output/junit-*.xml)
	@echo ""; echo "== test summary =="
	@$(BIN)/python -c "$$TEST_SUMMARY" sqlite browser postgres

test-sqlite: venv ## The suite on SQLite (all but tests/browser)
	@echo ""; echo "== tests on SQLite =="
	TRAINING_TEST_DATABASE=sqlite $(PYTEST) $(PYTEST_ARGS) --ignore=tests/browser --junitxml=test-output/junit-sqlite.xml

# Browser journeys run in a process of their own: Playwright's sync API keeps an event loop
# running in the main thread while the browser is open, which the asyncio tests cannot share.
test-browser: venv ## The browser journeys (headless Debian chromium via Playwright) on SQLite
	@echo ""; echo "== browser tests (Chromium, SQLite) =="
	@if ! find tests/browser -name 'test_*.py' 2>/dev/null | grep -q .; then echo "no browser tests yet"; exit 0; fi; \
	command -v chromium >/dev/null 2>&1 || echo "browser tests SKIPPED: chromium not installed (make browser-deps, as root)"; \
	TRAINING_TEST_DATABASE=sqlite $(PYTEST) $(PYTEST_ARGS) --junitxml=test-output/junit-browser.xml tests/browser

test-postgres: venv ## The database suites on PostgreSQL (TRAINING_TEST_POSTGRES_URL); skipped with the reason when unreachable
	@echo ""; echo "== tests on PostgreSQL =="
	@dirs=""; for d in $(PG_TEST_DIRS); do if [ -d "$$d" ]; then dirs="$$dirs $$d"; fi; done; \
	if [ -z "$$dirs" ]; then echo "PostgreSQL run: no database test directories ($(PG_TEST_DIRS))"; exit 0; fi; \
	if reason=$$($(BIN)/python -c "$$PG_PROBE" "$(PG_URL)" 2>&1); then \
	  echo "PostgreSQL reachable: $(lastword $(subst @, ,$(PG_URL)))"; \
	else \
	  echo "PostgreSQL run SKIPPED: $$reason"; \
	fi; \
	status=0; \
	TRAINING_TEST_DATABASE=postgres TRAINING_TEST_POSTGRES_URL="$(PG_URL)" $(PYTEST) $(PYTEST_ARGS) \
	  --junitxml=test-output/junit-postgres.xml $$dirs || status=$$?; \
	if [ "$$status" = 5 ] && ! find $$dirs -name 'test_*.py' | grep -q .; then \
	  echo "PostgreSQL run: no tests exist yet in$$dirs"; status=0; \
	fi; \
	exit $$status

# Modules under bench/ that other benchmarks import (data generators, baseline apps): never run alone.
# Files named bench/_*.py are skipped as well.
BENCH_LIBRARIES := bench/national.py

bench-deps: ## Install Debian's wrk, the load generator of bench/load.py (root only; it falls back to httpx)
	@$(call apt_install,command -v wrk,wrk)

bench: venv ## Run every bench/*.py in turn and print its figures
	@if ! command -v wrk >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then $(MAKE) bench-deps; fi
	@failed=""; for script in bench/*.py; do \
	  case " $(BENCH_LIBRARIES) " in *" $$script "*) continue;; esac; \
	  case "$$(basename $$script)" in _*) continue;; esac; \
	  echo ""; echo "== $$script =="; \
	  $(BIN)/python "$$script" || failed="$$failed $$script"; \
	done; \
	if [ -n "$$failed" ]; then echo "benchmarks failed:$$failed"; exit 1; fi

messages: venv ## Extract the translatable strings into build/messages.pot for translators
	@mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg --sort-by-file --no-wrap -k _ -k gettext -k ngettext:1,2 \
	  --project=training -o $(POT) .
	@echo "merge new strings into training/locale/en/LC_MESSAGES/<area>.po (msgid Chinese, msgstr English)"

clean: ## Remove caches, build outputs and test output (keeps .venv and the data in var/)
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache test-output
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## Also remove .venv (never var/, which holds the data)
	rm -rf $(VENV)
