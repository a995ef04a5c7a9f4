#!/usr/bin/env bash
# Installs what the service needs from the OS when it is missing: Chromium, redis-server,
# and Python's venv module. Needs root and apt-get (Debian/Ubuntu); elsewhere it says what to install.
set -euo pipefail

missing=()
# Extra packages named on the command line (e.g. wrk for bench/submit.py).
for extra in "$@"; do command -v "$extra" >/dev/null 2>&1 || missing+=("$extra"); done
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
  || [ -n "${BROWSING_CHROMIUM_PATH:-}" ] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${missing[*]} (install them, or run this as root on Debian/Ubuntu)" >&2
  exit 1
fi
echo "installing ${missing[*]} with apt-get ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
