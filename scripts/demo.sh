#!/usr/bin/env bash
# Command 1 of the README: install, create the SQLite database under var/, load the demo
# office (idempotent), print the demo accounts and serve http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export LOUPAN_DEMO=1
.venv/bin/loupan migrate --noinput
.venv/bin/loupan demo
echo
echo "Loupan 楼盘 → http://127.0.0.1:${PORT:-8000}/  (Ctrl-C 停止 / to stop)"
exec .venv/bin/loupan runserver "127.0.0.1:${PORT:-8000}"
