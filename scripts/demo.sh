#!/usr/bin/env bash
# Command 1 of the README: install, create the SQLite database under var/, load the demo
# office (idempotent), print the demo accounts and serve http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export LOUPAN_DEMO=1
.venv/bin/loupan migrate --noinput
.venv/bin/loupan demo
# What is due (expired reservations and holds, release plans, scheduled price lists, the
# customer pool) runs beside the server, as cron would run it in production: pages
# never write on a GET, so this is what makes the demo move by itself.
.venv/bin/loupan run-due --loop --interval "${LOUPAN_DUE_INTERVAL:-10}" >var/run-due.log 2>&1 &
DUE_PID=$!
trap 'kill "$DUE_PID" 2>/dev/null || true' EXIT INT TERM
echo
echo "Loupan 楼盘 → http://127.0.0.1:${PORT:-8000}/  (Ctrl-C 停止 / to stop)"
.venv/bin/loupan runserver "127.0.0.1:${PORT:-8000}"
