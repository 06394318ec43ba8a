#!/usr/bin/env bash
# Installs PostgreSQL and Chromium from Debian's packages when they are missing.
# Runs apt-get only as root (CI runs as root with CI=true); otherwise says what is missing.
set -euo pipefail
need=()
if ! ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need+=(postgresql); fi
if ! command -v chromium >/dev/null 2>&1; then need+=(chromium); fi
if ! command -v msgfmt >/dev/null 2>&1; then need+=(gettext); fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ]; then
  echo "installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "missing system packages: ${need[*]} — install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
