#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server in a temporary directory and prints the
# DATABASE_URL on stdout:   eval "$(scripts/pg.sh start)"   …   scripts/pg.sh stop "$PGTMP"
# PostgreSQL refuses to run as root, so as root it runs as the 'postgres' system user
# (created when missing).
set -euo pipefail
cmd="${1:-start}"
bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
      useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    fi
    tmp="$(mktemp -d /tmp/loupan-pg.XXXXXX)"
    chmod 755 "$tmp"
    if [ "$(id -u)" = 0 ]; then chown postgres "$tmp"; fi
    port="${PGPORT_TEST:-$(( 20000 + RANDOM % 20000 ))}"
    as_pg "$bindir/initdb" -D "$tmp/data" -A trust -U loupan -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1
    as_pg "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w \
      -o "-k $tmp -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null
    as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U loupan loupan
    echo "export PGTMP='$tmp'"
    echo "export DATABASE_URL='postgres://loupan@127.0.0.1:$port/loupan'"
    ;;
  stop)
    tmp="$2"
    as_pg "$bindir/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
    ;;
esac
