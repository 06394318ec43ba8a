#!/usr/bin/env bash
# Command 2 of the README: install everything, then run the whole suite
#   1. lint and migration check,
#   2. all tests on SQLite,
#   3. all tests on a real PostgreSQL server started here (with the concurrency tests),
#   4. the browser tests in headless Chromium.
# Both test passes include tests/api/test_schemathesis.py: schemathesis over the whole
# OpenAPI schema as the consultant and the manager (no 5xx, one error shape), bounded by
# LOUPAN_SCHEMATHESIS_EXAMPLES requests per operation and role (3) and derandomized.
# Extra arguments go to every pytest run (e.g. scripts/test.sh -x -k login).
# The SQLite run spreads over the machine's CPUs (pytest-xdist, at most four workers,
# each with its own test database and demo office; LOUPAN_TEST_WORKERS=0 runs it in one
# process). The PostgreSQL run spreads the same way, with the tests marked ``postgres``
# (concurrency, triggers): transactional tests that empty their worker's database, which
# pytest-django runs last within each worker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh
scripts/bootstrap.sh
export LOUPAN_VAR_DIR="$(mktemp -d /tmp/loupan-var.XXXXXX)"
PY=.venv/bin/python
PGTMP=""
cleanup() {
  if [ -n "$PGTMP" ]; then scripts/pg.sh stop "$PGTMP"; fi
  rm -rf "$LOUPAN_VAR_DIR"
}
trap cleanup EXIT

echo "== lint (ruff) and migrations check"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check --quiet src tests bench
.venv/bin/loupan makemigrations --check --dry-run >/dev/null

WORKERS=(-n "${LOUPAN_TEST_WORKERS:-auto}" --maxprocesses=4)

echo "== tests on SQLite"
env -u DATABASE_URL "$PY" -m pytest -q "${WORKERS[@]}" -m "not postgres and not e2e" -p no:cacheprovider "$@"

echo "== tests on PostgreSQL"
eval "$(scripts/pg.sh start)"
# Spread like the SQLite pass, the tests that need PostgreSQL itself (concurrency with
# real threads, triggers) included: each worker has its own test database, and within a
# worker pytest-django runs those transactional tests last, since they empty it.
"$PY" -m pytest -q "${WORKERS[@]}" -m "not e2e" -p no:cacheprovider "$@"
scripts/pg.sh stop "$PGTMP"; PGTMP=""
unset DATABASE_URL

echo "== browser tests (headless Chromium)"
DJANGO_ALLOW_ASYNC_UNSAFE=true "$PY" -m pytest -q -m e2e -p no:cacheprovider "$@"
