#!/usr/bin/env bash
# `make mutate`: mutation testing (mutmut 3) over the rule modules listed under
# [tool.mutmut] in pyproject.toml; docs/mutation.md says what it covers, the scores and
# the mutants left alive on purpose. Not part of `make test` or CI: a whole run takes
# about an hour on two cores.
#   scripts/mutate.sh                       every mutant not yet tried (results are kept
#                                           in mutants/ between runs)
#   scripts/mutate.sh 'loupan.core.money*'  only those mutants (mutmut's name globs)
# MUTATE_CHILDREN (1) forked test runs at once; PY picks the interpreter (.venv's).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
if [ "$PY" = .venv/bin/python ]; then
  scripts/bootstrap.sh
fi
if ! "$PY" -c "import mutmut" 2>/dev/null; then
  # the mutate extra's packages only: installing this tree itself (-e .) into another
  # tree's interpreter (PY=…) would point that tree's loupan here
  "$PY" -m pip install --quiet $("$PY" -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["mutate"]))')
fi
# SQLite, with one test database file kept between mutmut's many pytest runs
# (--reuse-db in pyproject), in a directory of its own.
unset DATABASE_URL
export LOUPAN_VAR_DIR="${LOUPAN_VAR_DIR:-$(mktemp -d /tmp/loupan-mutate.XXXXXX)}"
export TEST_DATABASE_NAME="$LOUPAN_VAR_DIR/test.sqlite3"
nice -n 19 "$PY" -m mutmut run --max-children "${MUTATE_CHILDREN:-1}" "$@"
"$PY" -m mutmut results
